from executors.image_hasher.executor import ImageHasher

__all__ = ['ImageHasher']
