"""Small private helpers shared across the package."""
