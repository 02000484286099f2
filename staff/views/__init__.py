"""The staff pages: queues (`queues`), the case page and its actions (`case`), reports (`reports`)."""
