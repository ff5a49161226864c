"""Importers: task scores from official workbooks or tables into the store."""
