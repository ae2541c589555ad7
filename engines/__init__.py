"""The four engines (form, flow, rule, report) and the shared expression language.

Engines are pure: they take definitions, state and events and return new state
and effects. They never import Flask, the runtime or the builder, never open a
database session and never read the clock (the caller passes ``now``).
"""
