"""livestyle.segment"""
