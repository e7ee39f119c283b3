"""Stage 3, transcribe: audio in, sentence-level `Transcript` out (`whisper`, on `pcm` samples),
and the sentence splitting and punctuation that published transcripts need too (`sentences`, `punctuate`)."""
