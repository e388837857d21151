"""The faust app: one module per consumed topic; agents are thin loops over plain async functions."""
