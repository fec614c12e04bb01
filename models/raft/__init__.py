"""Raft: leader election, log replication and commitment, with its known bugs as flags.

The model is ``splitbrain.models.raft.raft`` (registered as ``raft``); its properties are
Raft's five safety properties from ``splitbrain.properties.consensus``.
"""
