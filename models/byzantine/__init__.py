"""Byzantine agreement: reliable broadcast (bcastByz), oral and signed messages, PBFT."""
