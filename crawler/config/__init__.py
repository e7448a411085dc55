"""The sources file: loading, validation with file:line errors, and the regex safety check."""
