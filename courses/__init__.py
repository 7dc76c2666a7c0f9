"""Courses, classes, schedules, enrolment, attendance, completion and the IT-skills programme (issue #3, #4).

Depends on the registry and auth; never on titles (completions are written as learning records).
"""
