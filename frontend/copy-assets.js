// Copies the GOV.UK Frontend images the stylesheet refers to next to it (build/govuk/assets).
// The GDS Transport fonts are not copied: they are licensed for GOV.UK domains only.
const fs = require("fs");
const path = require("path");
const from = path.join(__dirname, "node_modules", "govuk-frontend", "dist", "govuk", "assets", "images");
const to = path.join(__dirname, "build", "govuk", "assets", "images");
fs.mkdirSync(to, { recursive: true });
for (const name of fs.readdirSync(from)) fs.copyFileSync(path.join(from, name), path.join(to, name));
