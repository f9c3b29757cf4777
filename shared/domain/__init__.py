"""The job model and the rules every service shares."""
