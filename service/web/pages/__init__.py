"""The pages: pipeline review, deals, conversations, and the audio behind them."""
