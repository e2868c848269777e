"""What the instances of one deployment share (Redis when configured) and their liveness."""
