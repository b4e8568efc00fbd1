"""ADK's ``google.adk.cli.utils``: helpers of the command line and the server."""
