from executors.simple_indexer.executor import SimpleIndexer

__all__ = ['SimpleIndexer']
