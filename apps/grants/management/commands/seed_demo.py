"""Demo data for the Grants Service: programs, the default rubric and applications in several states.

Idempotent: what exists (programs by code, applications by applicant and title) is left alone.
Applications go through the service functions, so their history and outbox events are real.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.utils import timezone

from apps.grants import services
from apps.grants.models import Applicant, Application, Program
from hms.auth import Identity
from hms.db import service_atomic
from hms.people.demo import DEMO_PEOPLE
from hms.people.services import people_ensure

# The demo identities the User Service creates on a fresh database (see the README).
CASEWORKER = Identity(user_id=2, role="caseworker")
REVIEWER = Identity(user_id=6, role="caseworker")
ADA = Identity(user_id=4, role="applicant", kind="individual")
ACME = Identity(user_id=5, role="applicant", kind="business")
DEMO_APPLICANTS = [
    (ADA, "Ada Lovelace", "verified"),
    (ACME, "Acme Robotics LLC", "verified"),
]

SBIR = "SBA-SBIR-2027-01"
COMMUNITY = "HUD-CRG-2027-01"
RETROFIT = "DOE-EERE-2026-02"
CLEAN_ENERGY = "DOE-CEI-2027-01"  # review panels of two, blind


@dataclass(frozen=True)
class DemoApplication:
    applicant: Identity
    program: str
    title: str
    summary: str
    lines: list[tuple[str, str, str]]
    # The steps after creation, in order: submit, start_review, request_changes, approve,
    # reject, withdraw, score, panel (the caseworker and the reviewer join its review panel;
    # the reviewer declares no conflict, scores and submits).
    steps: list[str] = field(default_factory=list)
    awarded: str | None = None


# Acme's two approved SBIR applications come first, so that on a fresh database they are
# applications 1 and 2 (HMS-<year>-000001/2): the Finance Service's demo awards refer to them.
DEMO_APPLICATIONS = [
    DemoApplication(
        ACME,
        SBIR,
        "Autonomous warehouse inventory drone",
        "Phase I: an indoor drone that counts pallets overnight without GPS.",
        [
            ("personnel", "Two engineers, six months", "90000.00"),
            ("equipment", "Flight test rig", "40000.00"),
            ("travel", "Field trials at two warehouses", "20000.00"),
        ],
        steps=["submit", "start_review", "score", "approve"],
        awarded="150000.00",
    ),
    DemoApplication(
        ACME,
        SBIR,
        "Low-cost robotic arm for small farms",
        "Phase I: a harvesting arm under $5,000 for farms below 50 acres.",
        [
            ("personnel", "Robotics engineer", "30000.00"),
            ("supplies", "Actuators and sensors", "15000.00"),
            ("travel", "Farm pilots", "5000.00"),
        ],
        steps=["submit", "start_review", "score", "approve"],
        awarded="48000.00",
    ),
    DemoApplication(
        ADA,
        COMMUNITY,
        "Backyard rain garden network",
        "Twelve rain gardens along Elm Street to take storm water off the sewers.",
        [
            ("supplies", "Plants, soil and stone", "6200.00"),
            ("contractual", "Excavation", "3800.00"),
        ],
    ),
    DemoApplication(
        ADA,
        COMMUNITY,
        "Neighborhood solar co-op feasibility study",
        "A study of rooftop solar for 40 homes sharing one interconnection.",
        [("contractual", "Engineering study", "15000.00"), ("travel", "Site visits", "1500.00")],
        steps=["submit"],
    ),
    DemoApplication(
        ADA,
        COMMUNITY,
        "Tool library expansion",
        "Doubling the tools our volunteer-run library lends to residents.",
        [("equipment", "Power tools", "8000.00"), ("supplies", "Shelving", "1200.00")],
        steps=["submit", "start_review", "request_changes"],
    ),
    DemoApplication(
        ADA,
        COMMUNITY,
        "Community fridge",
        "A refrigerated pantry outside the library, stocked by neighbours.",
        [("equipment", "Refrigerator and shelter", "4000.00")],
        steps=["submit", "withdraw"],
    ),
    DemoApplication(
        ACME,
        SBIR,
        "Solar-powered cold storage for farm co-ops",
        "Phase I: a shipping-container cold room that runs off-grid for three days.",
        [
            ("personnel", "Thermal engineer", "60000.00"),
            ("equipment", "Container and panels", "40000.00"),
        ],
        steps=["submit", "start_review", "score"],
    ),
    DemoApplication(
        ACME,
        COMMUNITY,
        "STEM robotics summer camp",
        "Free two-week robotics camp for 60 middle-school students.",
        [("personnel", "Instructors", "14000.00"), ("supplies", "Robot kits", "6000.00")],
        steps=["submit", "start_review", "reject"],
    ),
    DemoApplication(
        ADA,
        CLEAN_ENERGY,
        "Community battery for Elm Street",
        "A shared 200 kWh battery that stores the street's rooftop solar for the evening peak.",
        [
            ("equipment", "Battery and inverter", "18000.00"),
            ("contractual", "Installation", "4000.00"),
        ],
        steps=["submit", "start_review", "panel"],
    ),
]


class Command(BaseCommand):
    help = "Load the Grants Service's demo data (safe to run again)."

    def handle(self, *args, **options):
        with service_atomic("grants"):
            rubric = services.rubric_ensure_default()
            for identity, name, verification in DEMO_APPLICANTS:
                # Normally fed by user events; created here only if they have not arrived.
                Applicant.objects.get_or_create(
                    user_id=identity.user_id,
                    defaults={
                        "kind": identity.kind,
                        "display_name": name,
                        "verification_status": verification,
                    },
                )
            people_ensure(service="grants", people=DEMO_PEOPLE)
            created_programs = self._programs()
            created_applications = sum(
                self._application(spec, rubric) for spec in DEMO_APPLICATIONS
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Grants demo data: {created_programs} program(s) and "
                f"{created_applications} application(s) created."
            )
        )

    def _programs(self) -> int:
        today = timezone.localdate()
        programs = [
            {
                "code": SBIR,
                "title": "Small Business Innovation Research, Phase I",
                "description": "Feasibility funding for technology with commercial promise.",
                "opens_on": today - timedelta(days=30),
                "closes_on": today + timedelta(days=150),
                "total_funds": Decimal("2000000.00"),
                "min_award": Decimal("50000.00"),
                "max_award": Decimal("300000.00"),
                "eligible_kinds": ["business"],
            },
            {
                "code": COMMUNITY,
                "title": "Community Resilience Microgrants",
                "description": "Small grants for neighbourhood projects by residents and local firms.",
                "opens_on": today - timedelta(days=60),
                "closes_on": today + timedelta(days=90),
                "total_funds": Decimal("500000.00"),
                "min_award": Decimal("1000.00"),
                "max_award": Decimal("25000.00"),
                "eligible_kinds": ["individual", "business"],
            },
            {
                "code": CLEAN_ENERGY,
                "title": "Clean Energy Innovation Grants",
                "description": "Community energy projects, scored by a blind panel of two.",
                "opens_on": today - timedelta(days=15),
                "closes_on": today + timedelta(days=75),
                "total_funds": Decimal("400000.00"),
                "min_award": Decimal("5000.00"),
                "max_award": Decimal("50000.00"),
                "eligible_kinds": ["individual", "business"],
                "review": {"reviewers_required": 2, "blind_review": True},
            },
            {
                "code": RETROFIT,
                "title": "Home Energy Retrofit Rebates 2026",
                "description": "Closed: rebates for insulation and heat pumps.",
                "opens_on": today - timedelta(days=300),
                "closes_on": today - timedelta(days=30),
                "total_funds": Decimal("750000.00"),
                "min_award": Decimal("500.00"),
                "max_award": Decimal("10000.00"),
                "eligible_kinds": ["individual"],
            },
        ]
        created = 0
        for values in programs:
            review = values.pop("review", {})
            if not Program.objects.filter(code=values["code"]).exists():
                program = services.program_create(**values)
                Program.objects.filter(pk=program.pk).update(**review)
                created += 1
        return created

    def _application(self, spec: DemoApplication, rubric) -> int:
        if Application.objects.filter(
            applicant_id=spec.applicant.user_id, title=spec.title
        ).exists():
            return 0
        lines = [
            services.BudgetLineInput(
                category=category, description=description, amount=Decimal(amount)
            )
            for category, description, amount in spec.lines
        ]
        application = services.application_create(
            actor=spec.applicant,
            program_code=spec.program,
            title=spec.title,
            project_summary=spec.summary,
            requested_amount=sum((line.amount for line in lines), Decimal("0")),
            budget_lines=lines,
        )
        pk = application.pk
        for step in spec.steps:
            if step == "submit":
                services.application_submit(actor=spec.applicant, application_id=pk)
            elif step == "withdraw":
                services.application_withdraw(
                    actor=spec.applicant, application_id=pk, reason="Another group is doing it."
                )
            elif step == "start_review":
                services.application_start_review(actor=CASEWORKER, application_id=pk)
            elif step == "score":
                services.application_score(
                    actor=CASEWORKER,
                    application_id=pk,
                    scores=[
                        services.ScoreInput(criterion_id=criterion.pk, score=4 - index % 2)
                        for index, criterion in enumerate(rubric.criteria.all())
                    ],
                )
            elif step == "panel":
                for reviewer in (CASEWORKER, REVIEWER):
                    services.review_assign(
                        actor=CASEWORKER, application_id=pk, reviewer_id=reviewer.user_id
                    )
                services.review_declare(actor=REVIEWER, application_id=pk, has_conflict=False)
                services.application_score(
                    actor=REVIEWER,
                    application_id=pk,
                    scores=[
                        services.ScoreInput(criterion_id=criterion.pk, score=3 + index % 2)
                        for index, criterion in enumerate(rubric.criteria.all())
                    ],
                )
                services.review_submit(actor=REVIEWER, application_id=pk)
            elif step == "request_changes":
                services.application_request_changes(
                    actor=CASEWORKER,
                    application_id=pk,
                    reason="Please add quotes for the power tools to the budget.",
                )
            elif step == "approve":
                services.application_approve(
                    actor=CASEWORKER,
                    application_id=pk,
                    awarded_amount=Decimal(spec.awarded) if spec.awarded else None,
                    reason="Strong technical plan; prototype parts reduced.",
                )
            elif step == "reject":
                services.application_reject(
                    actor=CASEWORKER,
                    application_id=pk,
                    reason="The program funds projects in residential neighbourhoods only.",
                )
        return 1
