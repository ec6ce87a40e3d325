"""Reusable Pulumi components for one containerized web service on ECS Fargate."""
