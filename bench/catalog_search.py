"""Offering search at catalog scale: p50/p95 of mixed searches on PostgreSQL and on SQLite.

One run generates a catalog (seeded, so every run and both backends get the same rows), loads it
into a fresh PostgreSQL database and a fresh SQLite file, and sends the same mixed searches to
``GET /v1/offerings`` of the real catalog app on each, once per search engine (``--engines``,
ADR 0016: the in-memory index, whose reading of each tenant is timed first and reported with
the memory it took, and the database's full-text index), in-process over ``httpx.ASGITransport``,
one request at a time, after a warm-up. Each search is timed from request to parsed response, so
the figure includes authentication, the descendants lookup of a competency filter, the page,
total and facet queries and building the page's ``OfferingHit``s.

The catalog (``--offerings``, 100,000 by default) is spread over four tenants (88% in one). Each
tenant has the demo CASE framework, and the large tenant also a generated one of a few hundred
items (6 domains, 8 competencies each, 6 indicators each), so the competency filter expands a
domain into dozens of items as it would in a district. Offerings have varied type, modality,
pacing, level, provider, duration, audience and tags, text made from word lists, 1-3
alignments, and about half of them sessions (past and upcoming, some full, some closed).

Rows are loaded with Core ``insert()`` executemany in batches, not through the per-offering
service functions, but every derived column is made by the service's own code: the frameworks
through ``services.catalog.frameworks.service.import_package``, each offering's search row
(``OfferingSearch``) as ``search.indexing.write_index`` writes it (words through
``search.words.document``, with statements in the order ``search.indexing.reindex`` reads them;
``search.filters.facet_key``; ``search.indexing.search_rowid``), the FTS5 rows as
``search.indexing.write_index`` writes them, and the audience rows as
``offerings.service._set_audience`` makes them. PostgreSQL's ``search_vector`` is a generated
column. After loading, PostgreSQL's tables are vacuumed and
analyzed (as autovacuum would soon do to a live catalog), SQLite's analyzed and optimized.

The searches (``--searches``, 1,000) mix text (one word, a prefix as typed, two or three words,
words nothing has), every filter (type, modality, pacing, level, provider kind, provider,
competency item and domain, minutes, audience, open seats, session window), combinations of
text and filters, every sort, and second or third pages through the cursor (the earlier pages
are fetched untimed first). The report gives load time and row counts, p50/p95/p99/mean per
backend, p50/p95 per kind of search and per sort (so a slow kind stands out), the slowest
searches, the ratio PostgreSQL/SQLite measured in the same run, whether both backends gave the
same totals, facets and pages,
and how busy the machine was while searching (on a shared machine, other work shows in the
figures: compare runs only when that line says the machine was otherwise quiet). Target (from
the issue): p95 <= 50 ms on PostgreSQL on a 2-core machine; reported, never asserted.

Run from the repository root: ``.venv/bin/python bench/catalog_search.py [--offerings 100000]``.
The PostgreSQL database (``--pg-url``, or ``BENCH_CATALOG_PG_URL``; by default ``bench_catalog``
on the local server) is dropped and created by the run and dropped at the end unless ``--keep``;
``--reuse`` searches a database a previous ``--keep`` run loaded with the same size and seed
(migrations and VACUUM ANALYZE still run), for profiling; ``--dump`` writes every search's time,
total and URL as JSON lines. Databases named ``test`` or ``test_*`` are refused: they belong to
the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    # Run as a script (`python bench/catalog_search.py`): the project's packages live at the root.
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine  # noqa: E402

from services.catalog.app import DEMO_FRAMEWORK, create_app  # noqa: E402
from services.catalog.deps import catalog_state  # noqa: E402
from services.catalog.frameworks import case  # noqa: E402
from services.catalog.frameworks.service import import_package  # noqa: E402
from services.catalog.models import (  # noqa: E402
    Framework,
    FrameworkItem,
    Offering,
    OfferingAlignment,
    OfferingAudience,
    OfferingSearch,
    OfferingSession,
)
from services.catalog.search import filters as search_filters  # noqa: E402
from services.catalog.search import indexing as search_indexing  # noqa: E402
from services.catalog.search import words as search_words  # noqa: E402
from services.catalog.search.indexing import install_search_hooks  # noqa: E402
from services.catalog.settings import CatalogSettings  # noqa: E402
from shared.db import create_engine, create_sessionmaker  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from tests.support import identity_headers, lifespan  # noqa: E402

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_catalog"
TARGET_P95_MS = 50.0
BATCH = 2_000
WARMUP = 50

MAIN_TENANT = "bench-district"
SMALL_TENANTS = ("bench-north", "bench-south", "bench-east")
MAIN_SHARE = 0.88

# --- vocabulary -------------------------------------------------------------------------------


def _words(block: str) -> tuple[str, ...]:
    """The items of a block written ``a | b | c``, over as many lines as it takes."""
    return tuple(item.strip() for line in block.strip().splitlines() for item in line.split("|"))


TOPICS = _words("""
    formative assessment | standards-based grading | classroom management | restorative practices
    social-emotional learning | trauma-informed teaching | culturally responsive teaching
    universal design for learning | differentiated instruction | English learners | dual language instruction
    inclusive special education | co-teaching | project-based learning | inquiry-based science
    phenomena-based science | math discourse | number sense | algebra readiness | fraction concepts
    phonics and phonemic awareness | the science of reading | reading comprehension | writing workshop
    argumentative writing | vocabulary instruction | disciplinary literacy | computational thinking
    computer science fundamentals | digital citizenship | artificial intelligence in the classroom
    blended learning | educational technology | instructional coaching | mentoring new teachers
    professional learning communities | data-driven instruction | family engagement | equity and belonging
    student voice | executive function | positive behavior interventions | multi-tiered systems of support
    gifted and talented education | arts integration | physical education | school leadership
    college and career readiness | civics education | primary sources | environmental education
    youth mental health first aid | cooperative learning | questioning strategies | effective feedback
    retrieval practice | lesson planning | assessment literacy
""")
PREFIXES = _words("""
    Introduction to | Foundations of | Deepening | Advanced | Practical | Leading | Strategies for | Designing for
    Rethinking | Building | Mastering | Exploring | Implementing | Sustaining
""")
FORMATS = {
    "workshop": ("Workshop", "Session", "Lab", "Clinic", "Masterclass"),
    "academy": ("Academy", "Institute", "Fellowship"),
    "online_course": ("Online Course", "Course", "Module Series"),
    "micro_credential": ("Micro-credential", "Badge Pathway"),
    "degree_program": ("M.Ed. Program", "Graduate Certificate", "Endorsement Program"),
    "coaching_cycle": ("Coaching Cycle", "Coaching Series"),
    "plc": ("PLC", "Learning Community", "Study Group", "Book Study"),
    "conference": ("Conference", "Summit", "Symposium"),
    "self_directed": ("Self-Paced Module", "Toolkit", "Playlist"),
}
FOR_WHOM = (
    "for New Teachers",
    "for Instructional Coaches",
    "for School Leaders",
    "for Paraprofessionals",
    "in Grades K-2",
    "in Grades 3-5",
    "in the Middle Grades",
    "in High School",
    "for Secondary Math",
    "for Elementary Teams",
    "for Counselors",
    "",
    "",
    "",
)


VERBS = _words("""
    plan | design | practice | analyze | build | strengthen | explore | apply | model | refine | examine | develop
    adapt | launch | facilitate | sustain | monitor | reflect on | co-create | share | revise | pilot | calibrate
    critique | rehearse | document | sequence | curate | evaluate | integrate | map | prototype | observe
    interpret | align | differentiate | modify | streamline | introduce | personalize
""")
OBJECTS = _words("""
    learning targets | success criteria | exit tickets | small-group routines | student work samples
    discussion protocols | unit plans | rubrics | learning stations | classroom norms | intervention plans
    anchor charts | conferring notes | choice boards | scaffolds | family newsletters | observation tools
    data dashboards | reading logs | lab notebooks | math tasks | writing prompts | feedback cycles | peer review
    restorative circles | morning meetings | behavior plans | IEP goals | language objectives | sentence frames
    graphic organizers | think-alouds | number talks | guided reading groups | decodable texts | station rotations
    seminar questions | problem sets | performance tasks | common assessments | pacing guides | curriculum maps
    mentor texts | read-alouds | word walls | manipulatives | simulations | design challenges
    engineering notebooks | field investigations | document-based questions | debate formats | portfolios
    student conferences | goal-setting sheets | self-assessments | checklists | learning progressions
    item analyses | walkthrough forms | lesson studies | video reflections | instructional rounds | coaching logs
    transition routines | calm-down corners | check-in systems | attendance plans | home visits | parent workshops
    accommodation plans | visual schedules | assistive technology | vocabulary notebooks | cognates
    translanguaging routines | coding projects | robotics kits | spreadsheets | media literacy lessons
""")
OUTCOMES = _words("""
    every student can show what they know | students take ownership of their learning
    instruction responds to evidence in real time | multilingual learners participate fully
    classrooms feel safe and predictable | teams make decisions from shared evidence
    families become partners in learning | students reason and argue from evidence | struggling readers catch up
    students transfer skills to new problems | new teachers thrive in their first years
    learning is accessible from the start | grades reflect what students actually know
    discussions are led by students | absences drop | referrals decline | more students enroll in advanced courses
    students write for real audiences | problem solving becomes a habit | curiosity drives the investigation
    each lesson builds on the last | colleagues observe and learn from each other
    interventions start before students fall behind | students explain their thinking aloud
    gifted learners stay challenged | students with disabilities access grade-level work | newcomers feel welcome
    technology supports rather than distracts | students graduate with a plan
    young children build early numeracy | adolescents develop healthy routines
    citizens of tomorrow practice civil discourse | artists find their voice | athletes learn lifelong fitness
    every reader finds books they love | mistakes become part of learning
""")
SETTINGS = _words("""
    rural schools | urban classrooms | small districts | large comprehensive high schools | elementary buildings
    alternative programs | summer school | after-school programs | virtual academies | dual language schools
    early learning centers | career and technical programs | juvenile justice settings | magnet schools
    charter networks | resource rooms | self-contained classrooms | library media centers | gymnasiums
    makerspaces
""")
SENTENCES = _words("""
    Participants {verb} {object} and try them in their own classrooms between sessions.
    We look closely at {topic} so that {outcome}.
    Through video, case studies and practice, educators {verb} {object} for {setting}.
    Bring a current unit: you will {verb} {object} with colleagues and leave with a plan.
    The research base on {topic} is summarized in plain language, with {object} ready to use.
    Each module ends with a short reflection on how {topic} looks in {setting}.
    Facilitators model {object} and coach participants as they {verb} their own.
    This {format} connects {topic} with {topic2}, so that {outcome}.
    Expect hands-on work: you will {verb} {object} and {verb2} {object2}.
    Designed with teachers from {setting}, it addresses {topic} without adding to workloads.
    Led by {person}, who has spent years on {topic} in {setting}.
    Participants who complete every task can earn {credits} continuing education units.
    Content is aligned with state standards and the district's instructional framework.
    Materials are available in English and Spanish.
    Sessions alternate between short inputs and time to {verb} {object}.
    You will leave with {object} you can use on Monday.
    Small teams {verb} {object}, then trade feedback with another school.
    Between meetings, participants {verb} {object} and bring evidence of what changed.
    Our focus is practical: how to {verb} {object} when time is short.
    Examples come from {setting} and {setting2}. | Guest speaker {person} shares lessons learned from {setting}.
    Optional office hours help participants {verb} {object}.
    A final showcase lets each participant present {object2}. | No prior experience with {topic} is needed.
""")
FIRST = _words("""
    Maria | James | Aisha | Wei | José | Priya | Liam | Zoë | Kwame | Sofia | Daniel | Hannah | Mateo | Fatima
    Noah | Thảo | Elena | Marcus | Ingrid | Omar
""")
LAST = _words("""
    Garcia | Johnson | Nguyen | Okafor | Smith | Patel | Kowalski | Müller | Haddad | Lindqvist | Brown | Ramírez
    Chen | O'Connor | Yamamoto | Dubois | Mensah | Rossi | Novak | Thompson
""")
TAGS = _words("""
    assessment | literacy | math | science | sel | equity | technology | leadership | coaching | ell | sped
    early-childhood | secondary | elementary | new-teacher | data | behavior | family | stem | arts | writing
    reading | cs | ai | mtss | pbis | udl | pbl | civics | health | wellness | induction | grading | feedback
    planning | collaboration | recertification | state-required | summer | evening
""")
ROLES = ("teacher", "coach", "principal", "assistant principal", "paraprofessional", "counselor", "specialist")
GRADE_BANDS = ("PK", "K-2", "3-5", "6-8", "9-12")
SUBJECTS = _words("""
    mathematics | ela | science | social studies | special education | english language development | arts
    physical education | computer science | world languages
""")
DISTRICT_PROVIDERS = _words("""
    Office of Teaching and Learning | Department of Special Education | Multilingual Learner Services
    Curriculum and Instruction | Educational Technology Department | Student Support Services
    New Teacher Induction Program
""")
EXTERNAL_PROVIDERS = tuple(
    f"{a} {b}"
    for a, b in zip(
        (
            "Lakeside",
            "Summit",
            "Northstar",
            "Bright Path",
            "Cedar",
            "Harbor",
            "Keystone",
            "Prairie",
            "Meridian",
            "Riverbend",
            "Granite",
            "Evergreen",
            "Beacon",
            "Silverline",
            "Blue Ridge",
            "Open Door",
            "Redwood",
            "Compass",
            "Horizon",
            "Fieldstone",
        ),
        (
            "Education Partners",
            "Learning Institute",
            "University",
            "Teaching Collaborative",
            "Literacy Center",
            "Math Alliance",
            "Coaching Group",
            "Regional Service Center",
            "College of Education",
            "Leadership Academy",
        )
        * 2,
        strict=True,
    )
)
TIME_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")

TYPE_WEIGHTS = {
    "workshop": 30,
    "online_course": 18,
    "self_directed": 12,
    "plc": 10,
    "micro_credential": 8,
    "coaching_cycle": 7,
    "academy": 6,
    "conference": 4,
    "degree_program": 2,
}
MINUTES = {
    "workshop": (60, 480),
    "online_course": (120, 2400),
    "self_directed": (30, 600),
    "plc": (60, 1800),
    "micro_credential": (300, 1200),
    "coaching_cycle": (240, 900),
    "academy": (900, 4800),
    "conference": (360, 1440),
    "degree_program": (20_000, 90_000),
}
MODALITIES = {
    "workshop": {"in_person": 5, "online_synchronous": 3, "blended": 1},
    "online_course": {"online_asynchronous": 7, "online_synchronous": 2, "blended": 1},
    "self_directed": {"online_asynchronous": 9, "blended": 1},
    "plc": {"in_person": 5, "online_synchronous": 3, "blended": 2},
    "micro_credential": {"online_asynchronous": 6, "blended": 4},
    "coaching_cycle": {"in_person": 6, "online_synchronous": 3, "blended": 1},
    "academy": {"in_person": 4, "blended": 5, "online_synchronous": 1},
    "conference": {"in_person": 8, "online_synchronous": 2},
    "degree_program": {"blended": 5, "online_asynchronous": 3, "in_person": 2},
}

# Framework of the large tenant, made up: domains, competencies under each, indicators under those.
DOMAINS = (
    "Planning and Preparation",
    "The Learning Environment",
    "Instruction and Engagement",
    "Assessment and Feedback",
    "Professional Responsibilities",
    "Leadership and Collaboration",
)
COMPETENCIES_PER_DOMAIN = 8
INDICATORS_PER_COMPETENCY = 6
NAMESPACE = uuid.UUID("0b6a3c4e-5f70-4c1d-9e2f-3a4b5c6d7e8f")

# Query material: whole words as people type them, words nothing has.
COMMON_WORDS = ("students", "learning", "teachers", "classroom", "instruction", "practice")
TOPIC_WORDS = tuple(
    sorted(
        {w for topic in TOPICS for w in topic.replace("-", " ").split() if len(w) > 3 and w not in {"with", "from"}}
        | {"coaching", "phonics", "rubrics", "feedback", "fractions", "circles", "dashboards", "induction"}
    )
)
RARE_WORDS = ("Okafor", "Lindqvist", "Müller", "Yamamoto", "Thảo", "Riverbend", "Keystone", "Fieldstone")
NO_MATCH = ("zebrafish", "quantum chromodynamics", "xylophone repair", "volcanology", "origami")


def weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# --- the catalog ------------------------------------------------------------------------------


def generated_framework(rng: random.Random) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A CASE CFPackage of 6 domains x 8 competencies x 6 indicators (342 items), and the
    identifiers of the competencies and indicators about each topic (one topic a competency)."""
    changed = "2026-11-23T00:00:00+00:00"
    doc_id = str(uuid.uuid5(NAMESPACE, "framework"))
    base = "https://bench.example/case"
    document = {
        "identifier": doc_id,
        "uri": f"{base}/documents/{doc_id}",
        "creator": "Bench District",
        "title": "Bench District Framework for Teaching",
        "lastChangeDateTime": changed,
    }
    items: list[dict[str, Any]] = []
    associations: list[dict[str, Any]] = []
    about: dict[str, list[str]] = defaultdict(list)
    topics = iter(rng.sample(TOPICS, len(DOMAINS) * COMPETENCIES_PER_DOMAIN))

    def node(identifier: str, title: str, kind: str) -> dict[str, str]:
        return {"title": title, "identifier": identifier, "uri": f"{base}/{kind}/{identifier}"}

    def add(code: str, statement: str, item_type: str, parent: str | None, sequence: int) -> str:
        identifier = str(uuid.uuid5(NAMESPACE, code))
        items.append(
            {
                "identifier": identifier,
                "uri": f"{base}/items/{identifier}",
                "fullStatement": statement,
                "humanCodingScheme": code,
                "CFItemType": item_type,
                "lastChangeDateTime": changed,
            }
        )
        association_id = str(uuid.uuid5(NAMESPACE, f"{code}/parent"))
        associations.append(
            {
                "identifier": association_id,
                "uri": f"{base}/associations/{association_id}",
                "associationType": "isChildOf",
                "sequenceNumber": sequence,
                "originNodeURI": node(identifier, code, "items"),
                "destinationNodeURI": node(parent or doc_id, "parent", "items" if parent else "documents"),
                "lastChangeDateTime": changed,
            }
        )
        return identifier

    for d, domain in enumerate(DOMAINS, 1):
        domain_id = add(f"PL.{d}", f"{domain}: what educators do to help every student learn.", "Domain", None, d)
        for c in range(1, COMPETENCIES_PER_DOMAIN + 1):
            topic = next(topics)
            statement = f"The educator uses {topic} to {rng.choice(VERBS)} {rng.choice(OBJECTS)}."
            competency_id = add(f"PL.{d}.{c}", statement, "Competency", domain_id, c)
            about[topic].append(competency_id)
            for i in range(1, INDICATORS_PER_COMPETENCY + 1):
                statement = (
                    f"The educator can {rng.choice(VERBS)} {rng.choice(OBJECTS)} so that {rng.choice(OUTCOMES)}, "
                    f"drawing on {topic if rng.random() < 0.8 else rng.choice(TOPICS)}."
                )
                about[topic].append(add(f"PL.{d}.{c}.{i}", statement, "Indicator", competency_id, i))
    return {"CFDocument": document, "CFItems": items, "CFAssociations": associations}, about


@dataclass(frozen=True)
class Item:
    framework: str  # CFDocument identifier
    identifier: str  # CFItem identifier
    code: str
    statement: str
    item_type: str


def framework_items(package: dict[str, Any]) -> list[Item]:
    doc = str(package["CFDocument"]["identifier"])
    return [
        Item(doc, str(i["identifier"]), str(i["humanCodingScheme"]), str(i["fullStatement"]), str(i["CFItemType"]))
        for i in package["CFItems"]
    ]


@dataclass
class Catalog:
    """Everything both backends get: frameworks per tenant and rows keyed by CASE identifiers."""

    now: dt.datetime
    packages: dict[str, list[dict[str, Any]]]  # tenant -> CFPackages
    offerings: list[dict[str, Any]]
    search_rows: list[dict[str, Any]]  # OfferingSearch rows, as search.write_index writes them
    alignments: list[tuple[str, Item]]  # (offering id, item)
    audiences: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    items: dict[str, list[Item]]  # tenant -> its items
    providers: list[tuple[str, str | None]]  # (name, number) in use
    tenant_sizes: Counter[str] = field(default_factory=Counter)


def title_of(rng: random.Random, offering_type: str, topic: str) -> str:
    fmt = rng.choice(FORMATS[offering_type])
    pretty = topic[0].upper() + topic[1:]
    shape = rng.random()
    if shape < 0.35:
        title = f"{rng.choice(PREFIXES)} {pretty}"
    elif shape < 0.6:
        title = f"{pretty} {fmt}"
    elif shape < 0.8:
        title = f"{pretty}: {rng.choice(VERBS).capitalize()} {rng.choice(OBJECTS)}"
    else:
        title = f"{rng.choice(PREFIXES)} {pretty} {fmt}"
    return f"{title} {rng.choice(FOR_WHOM)}".strip()


def description_of(rng: random.Random, offering_type: str, topic: str) -> str:
    sentences = []
    for template in rng.sample(SENTENCES, rng.randint(3, 6)):
        sentences.append(
            template.format(
                verb=rng.choice(VERBS),
                verb2=rng.choice(VERBS),
                object=rng.choice(OBJECTS),
                object2=rng.choice(OBJECTS),
                topic=topic,
                topic2=rng.choice(TOPICS),
                outcome=rng.choice(OUTCOMES),
                setting=rng.choice(SETTINGS),
                setting2=rng.choice(SETTINGS),
                format=rng.choice(FORMATS[offering_type]).lower(),
                person=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                credits=rng.choice(("0.5", "1.0", "1.5", "3.0")),
            )
        )
    text_ = " ".join(sentences)
    if rng.random() < 0.4:
        bullets = "\n".join(f"- {rng.choice(VERBS).capitalize()} {rng.choice(OBJECTS)}" for _ in range(3))
        text_ += f"\n\n**You will:**\n{bullets}"
    return text_


def generate(count: int, seed: int) -> Catalog:
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    demo = json.loads(DEMO_FRAMEWORK.read_text())
    big, about = generated_framework(random.Random(seed + 1))
    tenants = (MAIN_TENANT, *SMALL_TENANTS)
    packages = {t: [demo, big] if t == MAIN_TENANT else [demo] for t in tenants}
    items = {t: [i for p in packages[t] for i in framework_items(p)] for t in tenants}
    # Mostly indicators and competencies of the big framework, some of the demo one.
    choices = {t: [i for i in items[t] if i.item_type in ("Indicator", "Competency")] or items[t] for t in tenants}
    leaves = {t: [i for i in choices[t] if i.framework == big["CFDocument"]["identifier"]] for t in tenants}
    demo_items = {t: [i for i in choices[t] if i.framework == demo["CFDocument"]["identifier"]] for t in tenants}
    on_topic = {
        t: {topic: [i for i in leaves[t] if i.identifier in ids] for topic, ids in about.items()} for t in tenants
    }
    externals = [(name, f"PRV-{n:04d}" if n % 3 else None) for n, name in enumerate(EXTERNAL_PROVIDERS, 101)]
    districts = [(name, None) for name in DISTRICT_PROVIDERS]

    catalog = Catalog(now, packages, [], [], [], [], [], items, sorted(set(externals + districts), key=str))
    for _ in range(count):
        tenant = MAIN_TENANT if rng.random() < MAIN_SHARE else rng.choice(SMALL_TENANTS)
        catalog.tenant_sizes[tenant] += 1
        offering_id = new_id(rng)
        offering_type = weighted(rng, TYPE_WEIGHTS)
        modality = weighted(rng, MODALITIES[offering_type])
        self_paced = offering_type == "self_directed" or (modality == "online_asynchronous" and rng.random() < 0.8)
        low, high = MINUTES[offering_type]
        minutes = max(15, round(rng.uniform(low, high) / 15) * 15)
        topic = rng.choice(TOPICS)
        provider_kind = "external" if rng.random() < 0.4 else "district"
        provider_name, provider_number = rng.choice(externals if provider_kind == "external" else districts)
        status = rng.choices(("published", "draft", "retired"), weights=(86, 9, 5))[0]
        created = now - dt.timedelta(days=rng.uniform(2, 1100))
        audience = {
            "roles": rng.sample(ROLES, rng.choice((1, 1, 2, 3))),
            "grade_bands": rng.sample(GRADE_BANDS, rng.choice((0, 1, 2, 3))),
            "subjects": rng.sample(SUBJECTS, rng.choice((0, 0, 1, 2))),
        }
        tags = list(dict.fromkeys(rng.sample(TAGS, rng.randint(0, 5))))
        row = {
            "id": offering_id,
            "tenant_id": tenant,
            "status": status,
            "revision": rng.randint(1, 5),
            "offering_type": offering_type,
            "title": title_of(rng, offering_type, topic),
            "summary": (
                f"{rng.choice(VERBS).capitalize()} {rng.choice(OBJECTS)} with {topic}, so that {rng.choice(OUTCOMES)}."
                if rng.random() < 0.95
                else None
            ),
            "description": description_of(rng, offering_type, topic) if rng.random() < 0.9 else None,
            "modality": modality,
            "pacing": "self_paced" if self_paced else "cohort",
            "group_format": rng.choice(("individual", "group", "either")),
            "duration_minutes": minutes,
            "credits": round(minutes / 600, 1) if rng.random() < 0.6 else None,
            "level": rng.choices((None, "introductory", "intermediate", "advanced"), weights=(15, 40, 30, 15))[0],
            "audience": audience,
            "prerequisites": {"offering_ids": [], "competency_ids": []},
            "provider_kind": provider_kind,
            "provider_name": provider_name,
            "provider_number": provider_number,
            "cost_cents": rng.choice((0, 0, 0, 2500, 15000, 49900)) if provider_kind == "external" else 0,
            "stipend_cents": rng.choice((0, 0, 0, 5000)),
            "currency": "USD",
            "tags": tags,
            "credential_design_id": str(uuid.uuid5(NAMESPACE, topic)) if offering_type == "micro_credential" else None,
            "created_at": created,
            "updated_at": created + dt.timedelta(days=rng.uniform(0, 1)),
            "published_at": created + dt.timedelta(hours=rng.uniform(1, 20)) if status != "draft" else None,
        }
        # Mostly competencies about the offering's topic, as a district would align them.
        pool = demo_items[tenant]
        if leaves[tenant] and rng.random() < 0.8:
            pool = on_topic[tenant].get(topic) or leaves[tenant]
            pool = pool if rng.random() < 0.8 else leaves[tenant]
        aligned = rng.sample(pool, rng.randint(1, 3))
        catalog.alignments.extend((offering_id, item) for item in aligned)
        # As offerings.reindex reads them: aligned_items orders by human coding scheme, then id
        # (codes are unique within a tenant's frameworks here, so the id never decides).
        statements = [i.statement for i in sorted(aligned, key=lambda i: i.code)]
        document = Offering(title=row["title"], summary=row["summary"], description=row["description"])
        title, body = search_words.document(document, tags, statements)
        catalog.offerings.append(row)
        catalog.search_rows.append(
            {
                "offering_id": offering_id,
                "tenant_id": tenant,
                "status": status,
                "facet_key": search_filters.facet_key({name: row[name] for name in search_filters.FACETS}),
                "duration_minutes": minutes,
                "created_at": created,
                "search_rowid": search_indexing.search_rowid(offering_id),
                "search_title": title,
                "search_body": body,
            }
        )
        # As offerings._set_audience writes them: audience values, and the provider's keys.
        kinds = {"roles": "role", "grade_bands": "grade_band", "subjects": "subject"}
        values = {(kind, v.strip().lower()) for name, kind in kinds.items() for v in audience[name]}
        values |= {("provider", v.strip().casefold()[:100]) for v in (provider_name, provider_number) if v}
        catalog.audiences.extend(
            {"id": new_id(rng), "offering_id": offering_id, "kind": k, "value": v} for k, v in sorted(values)
        )
        if not self_paced and rng.random() < 0.8:
            catalog.sessions.extend(sessions_of(rng, row, now))
    return catalog


def sessions_of(rng: random.Random, offering: dict[str, Any], now: dt.datetime) -> Iterator[dict[str, Any]]:
    # Every start and registration deadline is at least a day away from now, so the searches of
    # both backends (minutes apart) see the same upcoming sessions.
    zone = rng.choice(TIME_ZONES)
    for n in range(rng.randint(1, 4)):
        if rng.random() < 0.35:
            starts = now - dt.timedelta(days=rng.uniform(1, 365))
        else:
            starts = now + dt.timedelta(days=rng.uniform(1, 240))
        starts = starts.replace(minute=0, second=0) + dt.timedelta(minutes=rng.choice((0, 30)))
        capacity = rng.randint(8, 60)
        full = rng.random() < 0.2
        closes = None if rng.random() < 0.5 else starts - dt.timedelta(days=rng.choice((1, 2, 3, 7)))
        if closes is not None and abs(closes - now) < dt.timedelta(days=1):
            # A deadline minutes from now would pass between the two backends' searches.
            closes = None
        opens = starts - dt.timedelta(days=30) if rng.random() < 0.3 else None
        in_person = offering["modality"] in ("in_person", "blended")
        yield {
            "id": new_id(rng),
            "tenant_id": offering["tenant_id"],
            "offering_id": offering["id"],
            "title": f"Session {n + 1}" if rng.random() < 0.5 else None,
            "starts_at": starts,
            "ends_at": starts + dt.timedelta(minutes=min(offering["duration_minutes"], 480)),
            "time_zone": zone,
            "location": f"Room {rng.randint(100, 400)}, {rng.choice(LAST)} Building" if in_person else None,
            "online_url": None if in_person else f"https://meet.example/{offering['id'][:8]}",
            "capacity": capacity,
            "seats_taken": capacity if full else rng.randint(0, capacity - 1),
            # Some far-off sessions open registration later (still a day or more from now).
            "registration_opens_at": opens if starts > now + dt.timedelta(days=45) else None,
            "registration_closes_at": closes,
            "status": "cancelled" if rng.random() < 0.05 else "scheduled",
            "created_at": offering["created_at"],
            "updated_at": offering["created_at"],
        }


# --- the searches -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    kind: str
    tenant: str
    params: dict[str, Any]  # competencies as Items, resolved to ids per backend
    page: int = 1  # > 1: the earlier pages are fetched untimed, then this one is timed

    @property
    def sort(self) -> str:
        return str(self.params.get("sort", "relevance"))


def text_query(rng: random.Random, kind: str) -> str:
    if kind == "text_word":
        pool = rng.choice((COMMON_WORDS, TOPIC_WORDS, TOPIC_WORDS, TOPIC_WORDS, RARE_WORDS))
        return rng.choice(pool)
    if kind == "text_prefix":
        word = rng.choice([w for w in TOPIC_WORDS if len(w) >= 6])
        return word[: rng.randint(3, len(word) - 1)]
    if kind == "text_nomatch":
        return rng.choice(NO_MATCH)
    words = [w for w in rng.choice(TOPICS).replace("-", " ").split() if w.lower() not in search_words.STOP_WORDS]
    if len(words) < 2:
        words.append(rng.choice(("strategies", "students", "teachers", "classroom")))
    phrase = words[: rng.randint(2, 3)]
    if rng.random() < 0.3:  # still typing the last word
        phrase[-1] = phrase[-1][: max(3, len(phrase[-1]) - 3)]
    return " ".join(phrase)


def filters(rng: random.Random, catalog: Catalog, tenant: str, kind: str) -> dict[str, Any]:
    now = catalog.now
    if kind == "facets":
        params: dict[str, Any] = {}
        for name, values in (
            ("offering_type", list(TYPE_WEIGHTS)),
            ("modality", ["in_person", "online_synchronous", "online_asynchronous", "blended"]),
            ("pacing", ["self_paced", "cohort"]),
            ("level", ["introductory", "intermediate", "advanced"]),
            ("provider_kind", ["district", "external"]),
        ):
            if rng.random() < 0.4:
                params[name] = rng.sample(values, 1 if name in ("pacing", "provider_kind") else rng.randint(1, 2))
        return params or {"offering_type": [rng.choice(list(TYPE_WEIGHTS))]}
    if kind in ("competency_item", "competency_domain"):
        items = catalog.items[tenant]
        if kind == "competency_domain":
            pool = [i for i in items if i.item_type == "Domain"]
        else:
            pool = [i for i in items if i.item_type in ("Indicator", "Competency")]
        return {"competency": rng.sample(pool, rng.choice((1, 1, 1, 2)))}
    if kind == "minutes":
        bounds = rng.choice(((None, 60), (None, 120), (None, 240), (240, 600), (600, None), (1200, None), (60, 180)))
        return {k: v for k, v in zip(("min_minutes", "max_minutes"), bounds, strict=True) if v is not None}
    if kind == "audience":
        params = {"role": [rng.choice(ROLES)]}
        if rng.random() < 0.6:
            params["grade_band"] = [rng.choice(GRADE_BANDS)]
        if rng.random() < 0.3:
            params["subject"] = [rng.choice(SUBJECTS)]
        return params
    if kind == "provider":
        name, number = rng.choice(catalog.providers)
        return {"provider": number if number and rng.random() < 0.5 else name.lower()}
    if kind == "open_seats":
        return {"has_open_seats": "true"}
    if kind == "session_window":
        start = now + dt.timedelta(days=rng.randint(0, 90))
        window: dict[str, Any] = {}
        if rng.random() < 0.8:
            window["session_from"] = start.isoformat()
        if rng.random() < 0.8 or not window:
            window["session_to"] = (start + dt.timedelta(days=rng.choice((7, 14, 30)))).isoformat()
        return window
    raise ValueError(kind)


FILTER_KINDS = (
    "facets",
    "competency_item",
    "competency_domain",
    "minutes",
    "audience",
    "provider",
    "open_seats",
    "session_window",
)
KIND_WEIGHTS = {
    "browse": 60,
    "text_word": 110,
    "text_prefix": 100,
    "text_phrase": 100,
    "text_nomatch": 20,
    "facets": 90,
    "competency_item": 50,
    "competency_domain": 50,
    "minutes": 50,
    "audience": 50,
    "provider": 40,
    "open_seats": 50,
    "session_window": 50,
    "text+filters": 100,
    "filters+filters": 40,
    "next_page": 50,
}


def plan(catalog: Catalog, count: int, seed: int) -> list[Query]:
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        kind = weighted(rng, KIND_WEIGHTS)
        tenant = MAIN_TENANT if rng.random() < 0.92 else rng.choice(SMALL_TENANTS)
        params: dict[str, Any] = {}
        page = 1
        base = kind
        if kind == "next_page":
            base = rng.choice(("browse", "text_word", "text_phrase", "facets", "text+filters"))
            page = rng.choice((2, 2, 3))
        if base.startswith("text") and base != "text+filters":
            params["q"] = text_query(rng, base)
        elif base == "text+filters":
            params["q"] = text_query(rng, rng.choice(("text_word", "text_prefix", "text_phrase")))
            for name in rng.sample(FILTER_KINDS, rng.randint(1, 2)):
                params |= filters(rng, catalog, tenant, name)
        elif base == "filters+filters":
            for name in rng.sample(FILTER_KINDS, rng.randint(2, 3)):
                params |= filters(rng, catalog, tenant, name)
        elif base != "browse":
            params |= filters(rng, catalog, tenant, base)
        if "q" in params:
            params["sort"] = rng.choices(("relevance", "newest", "soonest", "shortest"), weights=(55, 15, 15, 15))[0]
        else:
            params["sort"] = rng.choices(("newest", "soonest", "shortest", "relevance"), weights=(35, 35, 25, 5))[0]
        params["limit"] = rng.choices((20, 10, 50), weights=(80, 10, 10))[0]
        queries.append(Query(kind, tenant, params, page))
    return queries


# --- loading ----------------------------------------------------------------------------------


@dataclass
class Loaded:
    url: str
    label: str
    item_ids: dict[tuple[str, str, str], str]  # (tenant, framework identifier, item identifier) -> id
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    version: str = ""


@contextmanager
def timed(into: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    into[name] = time.perf_counter() - start


def refuse_test_database(url: str) -> str:
    name = make_url(url).database or ""
    if (
        name.lower() == "test"
        or name.lower().startswith("test_")
        or name.lower() in ("postgres", "template0", "template1")
    ):
        raise SystemExit(f"refusing to use the database {name!r}: test and system databases are not for benchmarks")
    return name


async def admin_engine(url: str) -> AsyncEngine:
    return create_async_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


async def recreate_pg(url: str) -> None:
    name = refuse_test_database(url)
    engine = await admin_engine(url)
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


async def drop_pg(url: str) -> None:
    name = refuse_test_database(url)
    engine = await admin_engine(url)
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


async def pg_has_catalog(url: str, count: int) -> bool:
    name = refuse_test_database(url)
    engine = await admin_engine(url)
    async with engine.connect() as conn:
        exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    await engine.dispose()
    if not exists:
        return False
    engine = create_engine(url, schema="catalog")
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(text("SELECT count(*) FROM catalog.offerings"))
    except Exception:  # noqa: BLE001 - anything wrong with it: load afresh
        return False
    finally:
        await engine.dispose()
    return found == count


def batches(rows: Sequence[dict[str, Any]], size: int = BATCH) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def load(url: str, label: str, catalog: Catalog, *, reuse: bool) -> Loaded:
    sqlite = make_url(url).get_backend_name() == "sqlite"
    loaded = Loaded(url=url, label=label, item_ids={})
    with timed(loaded.timings, "migrate"):
        await asyncio.to_thread(upgrade, "catalog", url)
    engine = create_engine(url, schema="catalog")
    try:
        if not reuse:
            await load_rows(engine, catalog, loaded, sqlite=sqlite)
        with timed(loaded.timings, "analyze"):
            if sqlite:
                async with engine.begin() as conn:
                    await conn.execute(text("ANALYZE"))
                    await conn.execute(text("PRAGMA optimize"))
            else:
                # What autovacuum does to a live catalog soon after a bulk change: statistics,
                # and the visibility map that lets index-only scans skip the table.
                async with engine.connect() as conn:
                    await conn.execution_options(isolation_level="AUTOCOMMIT")
                    await conn.execute(text("VACUUM (ANALYZE) catalog.offerings, catalog.offering_search"))
                    await conn.execute(text("VACUUM (ANALYZE) catalog.sessions"))
                    await conn.execute(text("VACUUM (ANALYZE) catalog.offering_alignments, catalog.offering_audiences"))
                    await conn.execute(text("VACUUM (ANALYZE) catalog.framework_items, catalog.frameworks"))
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(FrameworkItem.tenant_id, Framework.identifier, FrameworkItem.identifier, FrameworkItem.id).join(
                    Framework, Framework.id == FrameworkItem.framework_id
                )
            )
            loaded.item_ids = {(t, f, i): item_id for t, f, i, item_id in rows}
            for name, table in (
                ("offerings", Offering),
                ("search rows", OfferingSearch),
                ("sessions", OfferingSession),
                ("alignments", OfferingAlignment),
                ("audience rows", OfferingAudience),
                ("framework items", FrameworkItem),
            ):
                loaded.counts[name] = int(await conn.scalar(select(func.count()).select_from(table)) or 0)
            loaded.counts["published"] = int(
                await conn.scalar(select(func.count()).where(Offering.status == "published")) or 0
            )
            if sqlite:
                loaded.counts["FTS5 rows"] = int(await conn.scalar(text("SELECT count(*) FROM offering_fts")) or 0)
                loaded.version = "SQLite " + str(await conn.scalar(text("SELECT sqlite_version()")))
            else:
                version = str(await conn.scalar(text("SHOW server_version")))
                loaded.version = f"PostgreSQL {version.split()[0]}"
    finally:
        await engine.dispose()
    return loaded


async def load_rows(engine: AsyncEngine, catalog: Catalog, loaded: Loaded, *, sqlite: bool) -> None:
    maker = create_sessionmaker(engine)
    install_search_hooks(maker)  # as the app's own sessions: commits raise the search versions
    with timed(loaded.timings, "frameworks"):
        for tenant, packages in catalog.packages.items():
            for package in packages:
                async with maker() as session, session.begin():
                    await import_package(session, tenant, case.parse(package))
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(FrameworkItem.tenant_id, Framework.identifier, FrameworkItem.identifier, FrameworkItem.id).join(
                Framework, Framework.id == FrameworkItem.framework_id
            )
        )
        item_ids = {(t, f, i): item_id for t, f, i, item_id in rows}
    tenant_of = {row["id"]: row["tenant_id"] for row in catalog.offerings}
    rng = random.Random(7)
    alignments = [
        {
            "id": new_id(rng),
            "offering_id": offering_id,
            "item_id": item_ids[(tenant_of[offering_id], item.framework, item.identifier)],
        }
        for offering_id, item in catalog.alignments
    ]
    with timed(loaded.timings, "rows"):
        async with engine.begin() as conn:
            for table, rows in (
                (Offering.__table__, catalog.offerings),
                (OfferingSearch.__table__, catalog.search_rows),
                (OfferingAudience.__table__, catalog.audiences),
                (OfferingAlignment.__table__, alignments),
                (OfferingSession.__table__, catalog.sessions),
            ):
                for batch in batches(rows):
                    await conn.execute(insert(table), batch)
            if sqlite:
                # What search.indexing.write_index writes for each offering.
                fts = text("INSERT INTO offering_fts (rowid, search_title, search_body) VALUES (:rowid, :title, :body)")
                for batch in batches(catalog.search_rows):
                    await conn.execute(
                        fts,
                        [
                            {"rowid": r["search_rowid"], "title": r["search_title"], "body": r["search_body"]}
                            for r in batch
                        ],
                    )


# --- searching --------------------------------------------------------------------------------


@dataclass
class Answer:
    query: Query
    ms: float
    status: int
    total: int | None
    facets: dict[str, Any] | None
    ids: list[str]
    url: str


class Identities:
    """The gateway's identity header per tenant, re-signed before its 30 s lifetime runs out."""

    def __init__(self, keys_dir: Path) -> None:
        self.keys_dir = keys_dir
        self.made: dict[str, tuple[float, dict[str, str]]] = {}

    def __call__(self, tenant: str) -> dict[str, str]:
        made = self.made.get(tenant)
        if made is None or time.monotonic() - made[0] > 10:
            headers = identity_headers(
                self.keys_dir, "catalog", roles=frozenset({"educator"}), tenant_id=tenant, subject="user:bench"
            )
            made = (time.monotonic(), headers)
            self.made[tenant] = made
        return made[1]


def http_params(query: Query, loaded: Loaded) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in query.params.items():
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, Item):
                one = loaded.item_ids[(query.tenant, one.framework, one.identifier)]
            pairs.append((name, str(one)))
    return pairs


def resident_mb() -> float:
    """This process's resident memory (Linux), for what the in-memory index holds."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def read_index(app: Any, tenants: Sequence[str]) -> None:
    """Have the in-memory index read every tenant before searching, and say what that cost: in
    the service this happens on a tenant's first search in a process."""
    before = resident_mb()
    start = time.perf_counter()
    for tenant in tenants:
        state = catalog_state(app)
        assert state.search_index is not None
        async with state.sessionmaker() as session:
            await state.search_index.current(session, tenant)
    seconds = time.perf_counter() - start
    grown = resident_mb() - before
    print(f"  memory index: read {len(tenants)} tenants in {seconds:.1f} s; resident memory +{grown:.0f} MB")


async def run_searches(
    loaded: Loaded, data_dir: Path, queries: list[Query], warmup: list[Query], engine: str
) -> list[Answer]:
    settings = CatalogSettings(
        environment="test",
        database_url=loaded.url,
        data_dir=data_dir,
        outbox_enabled=False,
        dev_seed=False,
        search_engine=engine,
        search_warm_on_start=False,  # read_index reads the tenants, timed, before searching
    )
    app = create_app(settings)
    who = Identities(settings.keys_dir)
    answers: list[Answer] = []
    async with lifespan(app):
        if engine == "memory":
            await read_index(app, [MAIN_TENANT, *SMALL_TENANTS])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def one(query: Query) -> Answer:
                params = http_params(query, loaded)
                for _ in range(query.page - 1):
                    earlier = await client.get("/v1/offerings", params=params, headers=who(query.tenant))
                    cursor = earlier.json().get("next_cursor") if earlier.status_code == 200 else None
                    if cursor is None:
                        break
                    params = [*(p for p in params if p[0] != "cursor"), ("cursor", cursor)]
                headers = who(query.tenant)
                start = time.perf_counter()
                response = await client.get("/v1/offerings", params=params, headers=headers)
                body = response.json()
                ms = (time.perf_counter() - start) * 1000
                ok = response.status_code == 200
                return Answer(
                    query=query,
                    ms=ms,
                    status=response.status_code,
                    total=body["total"] if ok else None,
                    facets=body["facets"] if ok else None,
                    ids=[hit["id"] for hit in body["items"]] if ok else [],
                    url=str(response.request.url).removeprefix("http://bench"),
                )

            for query in warmup:
                await one(query)
            with machine_use() as use:
                for query in queries:
                    answers.append(await one(query))
    print(f"  while searching ({engine} engine): {use}")
    return answers


def machine_ticks() -> tuple[int, int] | None:
    """(busy, all) clock ticks of the whole machine so far (Linux /proc/stat), else None."""
    try:
        values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except OSError:
        return None
    return sum(values) - values[3] - values[4], sum(values)


@dataclass
class MachineUse:
    """How busy the machine was during the timed searches, and how much of it was this process
    (and, for SQLite, the database): on a shared 2-core machine other work shows in the figures."""

    wall: float = 0.0
    busy: float | None = None  # share of all CPUs
    ours: float = 0.0  # share of all CPUs used by this process
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after

    def __str__(self) -> str:
        cpus = os.cpu_count() or 1
        machine = f"machine busy {self.busy:.0%} of {cpus} CPUs, " if self.busy is not None else ""
        return f"{machine}this process {self.ours:.0%}, load average {self.load[0]:.2f} -> {self.load[1]:.2f}"


@contextmanager
def machine_use() -> Iterator[MachineUse]:
    use = MachineUse()
    ticks, cpu, wall, load = machine_ticks(), time.process_time(), time.perf_counter(), os.getloadavg()[0]
    yield use
    use.wall = time.perf_counter() - wall
    use.ours = (time.process_time() - cpu) / use.wall / (os.cpu_count() or 1)
    after = machine_ticks()
    if ticks and after and after[1] > ticks[1]:
        use.busy = (after[0] - ticks[0]) / (after[1] - ticks[1])
    use.load = (load, os.getloadavg()[0])


# --- report -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def summary(values: Sequence[float]) -> str:
    return (
        f"p50 {percentile(values, 50):6.1f} ms   p95 {percentile(values, 95):6.1f} ms   "
        f"p99 {percentile(values, 99):6.1f} ms   mean {statistics.fmean(values):6.1f} ms   max {max(values):6.1f} ms"
    )


def report_load(loaded: Loaded, reused: bool) -> None:
    t = loaded.timings
    parts = ", ".join(f"{name} {t[name]:.1f} s" for name in ("migrate", "frameworks", "rows", "analyze") if name in t)
    print(f"\n{loaded.label}: {loaded.version}{'  (reused: not loaded by this run)' if reused else ''}")
    print(f"  load: {sum(t.values()):.1f} s ({parts})")
    print("  rows: " + ", ".join(f"{name} {count:,}" for name, count in loaded.counts.items()))


def by(answers: Sequence[Answer], key: str) -> dict[str, list[float]]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for a in answers:
        grouped[a.query.kind if key == "kind" else a.query.sort].append(a.ms)
    return grouped


def compare(first: Sequence[Answer], second: Sequence[Answer], which: str) -> None:
    """Whether two runs (backends, engines) answered alike, and the first few searches where
    they did not."""
    same = sum(a.total == b.total and a.facets == b.facets for a, b in zip(first, second, strict=True))
    same_pages = sum(a.ids == b.ids for a, b in zip(first, second, strict=True))
    print(f"same answers from {which}: totals and facets {same}/{len(first)}; pages {same_pages}/{len(first)}")
    differing = [
        (a, b) for a, b in zip(first, second, strict=True) if (a.total, a.facets, a.ids) != (b.total, b.facets, b.ids)
    ]
    for a, b in differing[:5]:
        where = [n for n, (x, y) in enumerate(zip(a.ids, b.ids, strict=False)) if x != y]
        print(f"  differs: {a.url} (page {a.query.page}): totals {a.total}/{b.total}, page positions {where}")


def _short(label: str) -> str:
    return label.replace("PostgreSQL", "PG").replace("memory", "mem").replace("database", "db")


def report(results: dict[str, list[Answer]], *, comparable: bool = True) -> None:
    labels = list(results)
    for label, answers in results.items():
        failed = [a for a in answers if a.status != 200]
        print(f"\n{label}: {len(answers)} searches, {summary([a.ms for a in answers])}")
        if failed:
            print(f"  !! {len(failed)} searches failed, e.g. {failed[0].status} {failed[0].url}")
    for key in ("kind", "sort"):
        groups = {label: by(answers, key) for label, answers in results.items()}
        names = sorted(set().union(*(g.keys() for g in groups.values())))
        header = "".join(f" {_short(label) + ' p50':>15} {_short(label) + ' p95':>15}" for label in labels)
        print(f"\nby {key:<17}{'n':>5}{header}")
        for name in names:
            cells = "".join(
                f" {percentile(groups[label][name], 50):12.1f} ms {percentile(groups[label][name], 95):12.1f} ms"
                for label in labels
            )
            n = len(groups[labels[0]][name])
            print(f"  {name:<18}{n:>5}{cells}")
    for label, answers in results.items():
        print(f"\nslowest on {label}:")
        for a in sorted(answers, key=lambda a: -a.ms)[:5]:
            page = f" (page {a.query.page})" if a.query.page > 1 else ""
            print(f"  {a.ms:7.1f} ms  {a.query.kind:<16} total {a.total!s:>6}  {a.url}{page}")
    first = results[labels[0]]
    for other in labels[1:]:
        second = results[other]
        ms1, ms2 = [a.ms for a in first], [a.ms for a in second]
        ratios = ", ".join(
            f"{name} {fn(ms1) / fn(ms2):.2f}"
            for name, fn in (
                ("p50", lambda v: percentile(v, 50)),
                ("p95", lambda v: percentile(v, 95)),
                ("mean", statistics.fmean),
            )
        )
        print(f"\nratio {labels[0]}/{other} (same run): {ratios}")
        if comparable or labels[0].split()[0] == other.split()[0]:
            compare(first, second, f"{labels[0]} and {other}")
        else:
            # Sessions are generated relative to the generation time, so a reused database's
            # upcoming sessions are not the ones this run gave SQLite.
            print(f"same answers: not compared with {other} (--reuse: PostgreSQL holds an earlier run's sessions)")
    for label, answers in results.items():
        if label.startswith("PostgreSQL"):
            p95 = percentile([a.ms for a in answers], 95)
            verdict = "met" if p95 <= TARGET_P95_MS else "MISSED"
            print(f"target p95 <= {TARGET_P95_MS:.0f} ms on {label}: {verdict} ({p95:.1f} ms)")


# --- main -------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> None:
    print(
        f"catalog search bench: {args.offerings:,} offerings, {args.searches:,} searches (+{WARMUP} warm-up), "
        f"seed {args.seed}; one request at a time through GET /v1/offerings in-process; "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    with timed(gen := {}, "generate"):
        catalog = generate(args.offerings, args.seed)
    sizes = ", ".join(f"{t} {n:,}" for t, n in catalog.tenant_sizes.most_common())
    print(f"generated in {gen['generate']:.1f} s: tenants {sizes}")
    queries = plan(catalog, args.searches, args.seed + 100)
    warmup = plan(catalog, WARMUP, args.seed + 200)
    results: dict[str, list[Answer]] = {}
    reuse = False
    with tempfile.TemporaryDirectory(prefix="catalog-search-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        if not args.skip_pg:
            reuse = args.reuse and await pg_has_catalog(args.pg_url, args.offerings)
            if not reuse:
                await recreate_pg(args.pg_url)
            loaded = await load(args.pg_url, "PostgreSQL", catalog, reuse=reuse)
            report_load(loaded, reuse)
            try:
                for engine in args.engines:
                    with timed(t := {}, "run"):
                        results[f"PostgreSQL {engine}"] = await run_searches(loaded, data_dir, queries, warmup, engine)
                    print(f"  searched in {t['run']:.1f} s")
            finally:
                if not args.keep:
                    await drop_pg(args.pg_url)
        if not args.skip_sqlite:
            sqlite_file = args.sqlite_file or Path(tmp) / "catalog.sqlite3"
            for stale in sqlite_file.parent.glob(sqlite_file.name + "*"):
                stale.unlink()
            url = f"sqlite+aiosqlite:///{sqlite_file}"
            loaded = await load(url, "SQLite", catalog, reuse=False)
            report_load(loaded, False)
            for engine in args.engines:
                with timed(t := {}, "run"):
                    results[f"SQLite {engine}"] = await run_searches(loaded, data_dir, queries, warmup, engine)
                print(f"  searched in {t['run']:.1f} s")
    report(results, comparable=not reuse)
    if args.dump:
        with args.dump.open("w") as out:
            for label, answers in results.items():
                for a in answers:
                    row = {"backend": label, "kind": a.query.kind, "sort": a.query.sort, "page": a.query.page}
                    out.write(json.dumps(row | {"ms": round(a.ms, 2), "total": a.total, "url": a.url}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offerings", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_CATALOG_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--skip-pg", action="store_true", help="SQLite only")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--keep", action="store_true", help="leave the PostgreSQL database in place")
    parser.add_argument("--reuse", action="store_true", help="search a kept PostgreSQL database of the same size")
    parser.add_argument("--sqlite-file", type=Path, help="load SQLite here (replaced) and leave it, not in a temp dir")
    parser.add_argument("--dump", type=Path, help="write every search's time, total and URL here (JSON lines)")
    parser.add_argument(
        "--engines",
        default="memory,database",
        help="search engines to time on each backend, comma-separated (ADR 0016): memory, database",
    )
    args = parser.parse_args()
    args.engines = [e for e in args.engines.split(",") if e]
    if not args.engines or set(args.engines) - {"memory", "database"}:
        parser.error("--engines takes memory and/or database")
    refuse_test_database(args.pg_url)
    try:
        import uvloop
    except ImportError:
        asyncio.run(bench(args))
    else:
        uvloop.run(bench(args))


if __name__ == "__main__":
    main()
