"""What app.py needs besides argument parsing: finding images, running or reaching the Flow, output."""
