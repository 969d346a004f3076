"""livestyle.temporal"""
