"""Stage 4, extract: the statements worth knowing in a transcript (`extract`, scored by `features`,
trimmed to readable text by `clean`), their meaning as vectors (`embed`), optional model-written cards
(`cards`), and what the web app builds on them: topics and passage search."""
