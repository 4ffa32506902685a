"""What operators run beside the bot: the jobs CLI and the status report."""
