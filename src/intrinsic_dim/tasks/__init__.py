"""Task families, one folder each (toy, vision, language, rl), registered by name (see family.py)."""
