"""`python -m simulator --port N`: the OpenAI-compatible test and demo server."""

from simulator.server import main

main()
