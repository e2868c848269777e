"""The OpenAI-compatible test and demo server (run it with `python -m simulator --port N`)."""
