"""Sampling plans (抽检计划): which workshops and products to sample, and the publication of
their results (抽检信息公示)."""
