"""Realistic demo content: about fifteen workspaces in groups base1, base2 and extended, with history.

``seed_demo_platform`` lays out one shared ``release`` git repository and three instances (dev,
staging, prod) whose content differs the way real environments drift: dev ahead and partly dirty,
staging on the latest release, prod one release behind, with a locked workspace and a
multi-workspace pair (``support-bot-dev`` -> ``support-bot``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.sandbox import clock, dsul
from tui.sandbox.engine import Engine
from tui.sandbox.faults import Faults
from tui.sandbox.gitrepo import git, init_bare
from tui.sandbox.platform import load_platform, write_env_file
from tui.sandbox.store import Store, now_iso

GROUP_LABELS = {
    "base1": "production:app:base1",
    "base2": "production:app:base2",
    "extended": "production:app,production:product",
}


@dataclass(frozen=True)
class Spec:
    slug: str
    name: str
    labels: tuple[str, ...]
    automations: tuple[str, ...]
    pages: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()


CATALOGUE = (
    Spec(
        "securechat",
        "SecureChat",
        ("production:app:base1",),
        ("chat", "moderate", "summarize"),
        ("index",),
        ("custom-code",),
    ),
    Spec(
        "knowledge-base",
        "Knowledge Base",
        ("production:app:base1",),
        ("ingest", "search", "reindex"),
        ("index", "sources"),
        ("crawler",),
    ),
    Spec("ai-store", "AI Store", ("production:app:base1",), ("list-agents", "install"), ("catalog",)),
    Spec(
        "doc-search",
        "Document Search",
        ("production:app:base2",),
        ("query", "rank"),
        ("index",),
        ("knowledge-client",),
        ("app/knowledge-base",),
    ),
    Spec("translation-hub", "Translation Hub", ("production:app:base2",), ("translate", "detect-language")),
    Spec(
        "meeting-notes",
        "Meeting Notes",
        ("production:app:base2",),
        ("transcribe", "summarize", "action-items"),
        ("notes",),
    ),
    Spec(
        "contract-review",
        "Contract Review",
        ("production:app:base2",),
        ("extract-clauses", "risk-score"),
        ("review",),
        (),
        ("app/securechat",),
    ),
    Spec(
        "support-bot",
        "Support Bot",
        ("production:product",),
        ("answer", "escalate", "feedback"),
        ("widget",),
        ("knowledge-client", "ticketing"),
        ("app/knowledge-base",),
    ),
    Spec("hr-assistant", "HR Assistant", ("production:product",), ("policies", "leave-request"), ("portal",)),
    Spec(
        "sales-copilot",
        "Sales Copilot",
        ("production:app",),
        ("qualify-lead", "draft-email", "crm-sync"),
        ("dashboard",),
        ("crm",),
    ),
    Spec("ticket-triage", "Ticket Triage", ("production:app",), ("classify", "route")),
    Spec("it-helpdesk", "IT Helpdesk", ("production:product",), ("reset-password", "diagnose"), ("portal",)),
    Spec("onboarding-guide", "Onboarding Guide", ("production:product",), ("welcome", "checklist"), ("guide",)),
    Spec("faq-widget", "FAQ Widget", ("production:app",), ("answer",), ("widget",)),
    Spec(
        "support-bot-dev",
        "Support Bot dev",
        ("team:support",),
        ("answer", "escalate", "feedback"),
        ("widget",),
        ("knowledge-client", "ticketing"),
    ),
)
PAIR = ("support-bot-dev", "support-bot")
RELEASES = ("v1.0.0", "v1.1.0", "v1.2.0")
MODELS = ("gpt-4o-mini", "gpt-4o", "mistral-large", "claude-sonnet")


def automation(spec: Spec, slug: str, revision: int) -> dict[str, Any]:
    model = MODELS[(revision + len(slug)) % len(MODELS)]
    steps: list[dict[str, Any]] = [
        {
            "set": {
                "name": "prompt",
                "value": f"You are the {spec.name} assistant. Task: {slug.replace('-', ' ')}.",
            }
        },
        {
            "Custom Code.run function": {
                "function": slug,
                "parameters": {"input": "{{payload}}"},
                "output": "result",
            }
        },
    ]
    if revision >= 2:
        steps.insert(
            1,
            {
                "conditions": {
                    "{{payload.lang}} == 'fr'": [{"set": {"name": "lang", "value": "fr"}}],
                    "default": [{"set": {"name": "lang", "value": "en"}}],
                }
            },
        )
    if revision >= 3:
        steps.append({"emit": {"event": f"{spec.slug}.{slug}.done", "payload": {"result": "{{result}}"}}})
    return {
        "slug": slug,
        "name": slug.replace("-", " ").title(),
        "description": f"{slug.replace('-', ' ').capitalize()} for {spec.name}",
        "arguments": {"payload": {"type": "object"}},
        "when": {"endpoint": True, "events": [f"{spec.slug}.{slug}"]},
        "do": steps,
        "output": "{{result}}",
        "llm": {
            "model": model,
            "temperature": round(0.1 * ((revision + len(slug)) % 5), 1),
            "maxTokens": 800,
        },
    }


def workspace_files(spec: Spec, revision: int, *, env: str = "dev") -> dsul.Files:
    files: dsul.Files = {
        "index.yml": dsul.dump_yaml(
            {
                "name": spec.name,
                "slug": spec.slug,
                "description": {
                    "en": f"{spec.name} (release {revision})",
                    "fr": f"{spec.name} (version {revision})",
                },
                "labels": list(spec.labels),
                "config": {
                    "schema": {"apiUrl": {"type": "string"}},
                    "value": {"apiUrl": "{{secret.apiEndpoint}}", "maxRequests": 10 * revision},
                },
            }
        ),
        "security.yml": dsul.dump_yaml(
            {
                "authorizations": {
                    "roles": {"owner": {}, "editor": {}, "user": {"auth": {"prismeai": {}}}},
                    "rules": [
                        {"role": "owner", "action": "manage", "subject": "all"},
                        {"role": "user", "action": "read", "subject": "pages"},
                    ],
                },
            }
        ),
    }
    automations = list(spec.automations) + (["healthcheck"] if revision >= 3 else [])
    for slug in automations:
        files[f"automations/{slug}.yml"] = dsul.dump_yaml(automation(spec, slug, revision))
    for slug in spec.pages:
        files[f"pages/{slug}.yml"] = dsul.dump_yaml(
            {
                "slug": slug,
                "name": {"en": f"{spec.name} {slug}"},
                "blocks": [
                    {
                        "slug": "RichText",
                        "content": {"en": f"<h1>{spec.name}</h1><p>Revision {revision}</p>"},
                    },
                    {"slug": "Form", "onSubmit": f"{spec.slug}.{spec.automations[0]}"},
                ],
            }
        )
    for slug in spec.imports:
        files[f"imports/{slug}.yml"] = dsul.dump_yaml(
            {
                "appSlug": slug.replace("-client", ""),
                "slug": slug,
                "config": {"url": "{{config.apiUrl}}", "retries": 2 + revision % 2},
            }
        )
    return files


def platform_env(release_url: str, *, mode: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    values = {
        "WORKSPACES_STORAGE_GIT_PLATFORM_release_NAME": "Release",
        "WORKSPACES_STORAGE_GIT_PLATFORM_release_URL": release_url,
        "WORKSPACES_STORAGE_GIT_PLATFORM_release_BRANCH": "main",
        "WORKSPACES_STORAGE_GIT_PLATFORM_release_DIRPATH": "workspaces",
        "WORKSPACES_STORAGE_GIT_PLATFORM_release_MODE": mode,
    }
    for group, labels in GROUP_LABELS.items():
        values[f"WORKSPACES_GROUP_{group}_LABELS"] = labels
    values.update(extra or {})
    return values


def _engine(data_dir: Path, env: dict[str, str]) -> Engine:
    data_dir.mkdir(parents=True, exist_ok=True)
    write_env_file(data_dir / "platform.env", env)
    return Engine(Store(data_dir), load_platform(data_dir, environ={}), Faults(), data_dir.name)


def _create_all(engine: Engine, revision: int, *, skip: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    metas = {}
    for spec in CATALOGUE:
        if spec.slug in skip:
            continue
        meta = engine.store.by_slug(spec.slug) or engine.store.create_workspace(
            name=spec.name, slug=spec.slug, labels=list(spec.labels), files=workspace_files(spec, revision)
        )
        if spec.depends_on:
            meta["dependsOn"] = list(spec.depends_on)
        engine.store.save_meta(meta)
        metas[spec.slug] = meta
    return metas


def _bump(engine: Engine, meta: dict[str, Any], spec: Spec, revision: int) -> None:
    engine.store.write_files(meta["id"], workspace_files(spec, revision))
    meta["dirty"] = True
    meta["updatedAt"] = now_iso()
    engine.store.save_meta(meta)


def seed_dev(engine: Engine) -> None:
    """Three releases pushed to git (v1.0.0 .. v1.2.0), native snapshots, then fresh local work."""
    metas = _create_all(engine, 1)
    user = "alice@example.com"
    for number, release in enumerate(RELEASES, start=1):
        for spec in CATALOGUE:
            meta = metas[spec.slug]
            if number > 1:
                if spec.slug in ("ai-store", "faq-widget") and number == 3:
                    continue  # not every workspace changes in every release
                _bump(engine, meta, spec, number)
            groups = engine.platform.groups_of(list(spec.labels))
            if not groups and spec.slug != PAIR[0]:
                continue
            if spec.slug == PAIR[0]:
                engine._publish(meta, {"name": f"dev-{number}", "description": f"Dev snapshot {number}"}, user)
                continue
            engine._publish(
                meta,
                {
                    "name": release,
                    "description": f"Release {release}: {spec.name}",
                    "repository": {"id": "release"},
                },
                user,
                groups=groups,
            )
    # native snapshots and work in progress on dev
    for slug in ("support-bot", "knowledge-base", "securechat"):
        engine._publish(metas[slug], {"name": "pre-demo", "description": "Snapshot before the demo"}, user)
    for slug, revision in (("support-bot", 4), ("sales-copilot", 4), ("meeting-notes", 4), (PAIR[0], 4)):
        spec = next(s for s in CATALOGUE if s.slug == slug)
        _bump(engine, metas[slug], spec, revision)
    ticket = metas["ticket-triage"]
    ticket["writeLock"] = {"lockedAt": now_iso(), "lockedBy": "bob@example.com", "reason": "manual"}
    engine.store.save_meta(ticket)


def seed_target(engine: Engine, *, behind: bool) -> None:
    """Import the release into an environment; ``behind`` leaves most workspaces one release back."""
    metas = _create_all(engine, 1, skip=(PAIR[0],))
    user = "release-bot"
    for spec in CATALOGUE:
        if spec.slug == PAIR[0]:
            continue
        meta = metas[spec.slug]
        version = "latest"
        if behind and spec.slug not in ("translation-hub",):
            version = "v1.1.0"
        engine.pull(meta["id"], version, {"repository": {"id": "release"}, "discardLocalChanges": True}, user)
    if behind:
        hotfix = metas["hr-assistant"]  # someone fixed prod by hand: drift the tool must surface
        files = engine.store.read_files(hotfix["id"])
        files["automations/policies.yml"] = files["automations/policies.yml"].replace(
            b"maxTokens: 800", b"maxTokens: 1200"
        )
        engine.store.write_files(hotfix["id"], files)
        hotfix["dirty"] = True
        hotfix["updatedBy"] = "carol@example.com"
        engine.store.save_meta(hotfix)


def _batched(engine: Engine, seed: Any, **kwargs: Any) -> None:
    driver = engine.driver("release")
    driver.begin_batch()  # type: ignore[union-attr]
    try:
        seed(engine, **kwargs)
    finally:
        driver.end_batch()  # type: ignore[union-attr]
        engine.store.close()


def seed_single(data_dir: Path) -> None:
    """``sandbox serve --seed demo`` on its own: a private bare repository inside the data folder."""
    clock.reset()
    init_bare(data_dir / "release.git")
    _batched(_engine(data_dir, platform_env("release.git", mode="read-write")), seed_dev)


def seed_demo_platform(root: Path) -> dict[str, Path]:
    """The three demo instances sharing one ``release`` repository. Returns name -> data folder."""
    clock.reset()  # with PRISME_SANDBOX_CLOCK set, the same seed gives the same dates
    release = root / "release.git"
    init_bare(release)
    dirs = {name: root / name for name in ("dev", "staging", "prod")}
    url = "../release.git"
    _batched(_engine(dirs["dev"], platform_env(url, mode="read-write")), seed_dev)
    _batched(_engine(dirs["staging"], platform_env(url, mode="read-write")), seed_target, behind=False)
    _batched(_engine(dirs["prod"], platform_env(url, mode="read-only")), seed_target, behind=True)
    return dirs


def own_repository(bare: Path, *, branch: str = "main", first_commit: bool = True) -> str:
    """A bare repository to serve as a workspace's own; returns its URL (a path).

    ``first_commit``: the branch exists, as the 2024 service needs before its first push (it pulls it)."""
    init_bare(bare, branch)
    if first_commit and not git(bare, "rev-parse", "--verify", "-q", f"refs/heads/{branch}", check=False):
        tree = git(bare, "hash-object", "-t", "tree", "-w", "/dev/null")  # the empty tree
        commit = git(bare, "commit-tree", tree, "-m", "Initial commit")
        git(bare, "update-ref", f"refs/heads/{branch}", commit)
    return str(bare)


def attach_own_repository(
    engine: Engine, workspace_id: str, url: str, *, repo_id: str = "own", branch: str = "main"
) -> dict[str, Any]:
    """Declare a repository in a workspace's DSUL (``repositories``), as a PATCH of the workspace would."""
    repos = dict(engine.own_repositories(engine.store.get(workspace_id)))
    repos[repo_id] = {"name": repo_id, "type": "git", "mode": "read-write", "config": {"url": url, "branch": branch}}
    return engine.patch(workspace_id, {"repositories": repos})
