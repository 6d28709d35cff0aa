"""crossmodal: index local images, text and audio; search and recommend across them, offline."""

__version__ = "0.1.0"
