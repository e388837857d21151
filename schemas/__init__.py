"""Wire contracts: pydantic models of every event, task and result on the topics."""
