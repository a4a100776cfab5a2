"""The Faust app: topics, agents, tables, timers and web views."""
