"""Local, offline question answering over your documents, with cited answers."""
