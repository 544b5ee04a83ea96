"""Chat models behind one small interface; see `base.ChatModel` and `make_model`."""

from activities.brain.llm.base import ChatModel, generate_draft, make_model

__all__ = ["ChatModel", "generate_draft", "make_model"]
