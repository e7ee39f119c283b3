"""Stages 1 and 2, ingest: poll the followed feeds (`scan`), then fetch each new episode's
publisher transcript or its audio (`fetch`). The only stage that reads the network, through `net`."""
