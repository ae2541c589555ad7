"""The rule engine: condition → action rules as data (business-rules habit), compiled once.

Pure: no Flask, no database session, no clock. A rule's trigger says which
events evaluate it, its condition is an expression or an all/any tree of
field–operator–value tests (plus SQL-evaluated aggregates through the
``EvalContext``), and its actions — from the ``jimu.rule_actions`` registry —
return effects that the runtime executes.
"""
from .actions import ACTIONS, Action, ActionContext, catalogue as action_catalogue
from .effects import Effect
from .exceptions import (ActionError, FlowUnavailable, RuleDepthError, RuleError, RuleInvalid, RuleLoopError,
                         TemplateError)
from engines.operators import OPERATORS, catalogue as operator_catalogue
from .spec import RuleSet, RuleSpec, compile_rule, compile_rules
from .templates import Template, compile_template, render
from .triggers import TRIGGERS

__all__ = ["ACTIONS", "Action", "ActionContext", "Effect", "OPERATORS", "TRIGGERS", "RuleSet", "RuleSpec",
           "compile_rule", "compile_rules", "Template", "compile_template", "render", "RuleError", "RuleInvalid",
           "RuleLoopError", "RuleDepthError", "ActionError", "FlowUnavailable", "TemplateError",
           "action_catalogue", "operator_catalogue"]
