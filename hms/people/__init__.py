"""The people a service shows by name: applicants and staff as the User Service last described
them, fed by its events (`user.registered`, `user.updated`, `staff.updated`). A service keeps its
own copy, so names show while the User Service is down; nothing here is edited by hand.

`columns.person_column` shows a person in an admin list or form, every name of a page fetched in
its own query (`PeopleColumnsMixin`); `person_label` is how a person reads on a page ("Ada Lovelace (#4)"); an action a service took on its own shows as that service
("Finance Service"), never as a bare id.
"""
