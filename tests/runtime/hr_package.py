"""An HR app package (not a helpdesk) for the spreadsheet import and export tests: departments, and
employees with options (labels in two languages), a link to a department, a user (their manager), a
number, a date, a unique staff number; a rule that flags big salaries; a recruiter role that sees
only Shanghai staff and never the salary."""
from __future__ import annotations

import copy

DEPARTMENT = {
    "key": "部门", "version": 1, "label": {"zh-CN": "部门", "en": "Department"}, "title_field": "名称",
    "fields": [
        {"key": "名称", "label": {"zh-CN": "名称", "en": "Name"}, "widget": "text", "required": True},
        {"key": "编码", "label": {"zh-CN": "编码", "en": "Code"}, "widget": "text",
         "validation": {"unique": True}},
    ],
}

EMPLOYEE = {
    "key": "员工", "version": 1, "label": {"zh-CN": "员工", "en": "Employee"}, "title_field": "姓名",
    "fields": [
        {"key": "姓名", "label": {"zh-CN": "姓名", "en": "Name"}, "widget": "text", "required": True},
        {"key": "工号", "label": {"zh-CN": "工号", "en": "Staff no."}, "widget": "text",
         "validation": {"unique": True}},
        {"key": "部门", "label": {"zh-CN": "所属部门", "en": "Department"}, "widget": "link",
         "config": {"form": "部门"}},
        {"key": "级别", "label": {"zh-CN": "级别", "en": "Grade"}, "widget": "select",
         "config": {"options": [{"value": "p1", "label": {"zh-CN": "初级", "en": "Junior"}},
                                {"value": "p2", "label": {"zh-CN": "中级", "en": "Intermediate"}},
                                {"value": "p3", "label": {"zh-CN": "高级", "en": "Senior"}}]}},
        {"key": "城市", "label": {"zh-CN": "城市", "en": "City"}, "widget": "select",
         "config": {"options": ["上海", "北京", "深圳"]}},
        {"key": "月薪", "label": {"zh-CN": "月薪", "en": "Salary"}, "widget": "number",
         "config": {"min": 0, "max": 1000000}},
        {"key": "入职日期", "label": {"zh-CN": "入职日期", "en": "Start date"}, "widget": "date"},
        {"key": "经理", "label": {"zh-CN": "经理", "en": "Manager"}, "widget": "user"},
        {"key": "备注", "label": {"zh-CN": "备注", "en": "Notes"}, "widget": "text"},
        {"key": "标记", "label": {"zh-CN": "标记", "en": "Flag"}, "widget": "text", "read_only": True},
    ],
}

#: sees Shanghai staff only, never the salary; may create employees (and read departments)
RECRUITER = {"key": "recruiter", "version": 1, "label": {"zh-CN": "招聘专员", "en": "Recruiter"},
             "permissions": {"员工": ["create", "read"], "部门": ["read"]},
             "rows": {"员工": {"scope": "condition", "condition": "城市 == '上海'"}},
             "fields": {"员工": {"月薪": "hidden"}}}

HR_ADMIN = {"key": "hr_admin", "version": 1, "label": {"zh-CN": "人事主管", "en": "HR lead"},
            "permissions": {"员工": ["create", "read", "update", "delete"], "部门": ["create", "read"]},
            "builder": True}

BIG_SALARY = {"key": "big_salary", "version": 1, "label": "Big salary", "form": "员工",
              "trigger": {"type": "record_created"},
              "condition": {"field": "月薪", "op": "gt", "value": 50000},
              "actions": [{"type": "set_fields", "values": {"标记": "高薪"}}]}


def hr_package(*, rules=(BIG_SALARY,)) -> dict:
    return {"format": "jimu.app", "version": 2,
            "app": {"key": "hr", "version": "1.0.0", "label": {"zh-CN": "人事", "en": "HR"}},
            "roles": [copy.deepcopy(RECRUITER), copy.deepcopy(HR_ADMIN)],
            "forms": [copy.deepcopy(DEPARTMENT), copy.deepcopy(EMPLOYEE)],
            "rules": copy.deepcopy(list(rules)), "flows": []}
