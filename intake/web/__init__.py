"""The partnership team's review pages: the queue, cases and messages, behind a login and a role."""
