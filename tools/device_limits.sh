# What the accelerator machine allows, in one place; the library takes these as arguments.
MAX_FILE_MB=16       # the most one file may weigh to come back from the machine (MiB)
CORPUS_MAX_MB=45     # the compressed pretraining corpus, so that it and the rest fit the 64 MiB carried there
