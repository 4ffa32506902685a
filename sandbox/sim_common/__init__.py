"""Plumbing the upstream simulators (fal, useapi, API Glue) share, kept once so a fix reaches all three.

What differs per vendor (error bodies, status codes, auth rules, fault knobs) stays in each package.
"""
