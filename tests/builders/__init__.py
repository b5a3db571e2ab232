"""Builders of realistic test inputs (emails, Word and PDF forms), all fictional."""
