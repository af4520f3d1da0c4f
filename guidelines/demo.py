def seed(command):
    """Demo guidelines arrive with the guidelines library."""
