"""AI providers behind one interface: local (default), Google GenAI, LiteLLM."""
