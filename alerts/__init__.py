"""Deciding alerts (CONTRACT.md section 3) and, later, delivering them to sites."""
