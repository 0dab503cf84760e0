"""Campaign planning: campaigns, indicator editions, evaluation points and the
task ledger (任务分解台账), with their Excel imports and exports. Part of the
``campaigns`` app; split out so the organisation code stays small."""
