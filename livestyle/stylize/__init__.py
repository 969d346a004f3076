"""livestyle.stylize"""
