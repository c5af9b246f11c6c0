"""The demo people every service's seed may show before the User Service's events arrive.

They mirror the User Service's demo identities (ids 1-5 on a fresh Users database, see
apps/users/management/commands/seed_demo.py); its events overwrite them with the real state.
"""

DEMO_PEOPLE = [
    {"user_id": 1, "role": "administrator", "display_name": "Jordan Reyes"},
    {"user_id": 2, "role": "caseworker", "display_name": "Casey Whitfield"},
    {"user_id": 3, "role": "finance_officer", "display_name": "Morgan Patel"},
    {"user_id": 4, "role": "applicant", "display_name": "Ada Lovelace", "kind": "individual"},
    {"user_id": 5, "role": "applicant", "display_name": "Acme Robotics LLC", "kind": "business"},
    {"user_id": 6, "role": "caseworker", "display_name": "Grace Okafor"},
]
