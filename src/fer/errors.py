"""Errors for user mistakes: the CLI prints them as one line, without a traceback."""


class DataError(ValueError):
    """Input data that cannot be used; the message names the file, line or image."""
