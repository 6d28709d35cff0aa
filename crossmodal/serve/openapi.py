"""The API's description, OpenAPI 3.1, served at /openapi.json (and shown by /static/docs.html)."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "description": "a one-line error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _json_body(schema: str, example: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{schema}"},
                "example": example,
            }
        },
    }


def _ok(schema: str) -> dict[str, Any]:
    return {
        "description": "OK",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _ERROR for code in codes}


ITEM_ID = {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def openapi() -> dict[str, Any]:
    files = {
        "oneOf": [
            {"type": "string"},
            {"type": "integer"},
            {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
        ],
        "description": "indexed files only: item ids or their indexed absolute paths",
    }
    texts = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "crossmodal serve",
            "version": "1",
            "description": "The store's search and recommendations over HTTP: the same request objects as a "
            "`crossmodal search --batch` line, the same result objects as `--json`, each with its item id. "
            "Read-only. Loopback by default; elsewhere every request needs the token "
            "(Authorization: Bearer TOKEN). POST bodies are JSON only.",
        },
        "paths": {
            "/search": {
                "post": {
                    "summary": "Search by text, indexed files, or an uploaded picture or sound",
                    "requestBody": _json_body(
                        "SearchRequest", {"text": "a dog on a beach", "type": "image", "k": 20}
                    ),
                    "responses": {
                        "200": _ok("SearchAnswer"),
                        **_errors(400, 401, 408, 413, 415, 429),
                    },
                }
            },
            "/recommend": {
                "post": {
                    "summary": "Items like the liked ones, unlike the disliked ones, with each result's because",
                    "requestBody": _json_body(
                        "RecommendRequest",
                        {"like": [12, 40], "dislike": [7], "type": "image", "k": 20},
                    ),
                    "responses": {
                        "200": _ok("RecommendAnswer"),
                        **_errors(400, 401, 408, 413, 415, 429),
                    },
                }
            },
            "/items/{item_id}": {
                "get": {
                    "summary": "One indexed item",
                    "parameters": [ITEM_ID],
                    "responses": {"200": _ok("Item"), **_errors(404)},
                }
            },
            "/thumb/{item_id}": {
                "get": {
                    "summary": "A cached JPEG thumbnail of a picture or a video",
                    "parameters": [
                        ITEM_ID,
                        {
                            "name": "size",
                            "in": "query",
                            "schema": {"enum": [128, 256, 512], "default": 256},
                        },
                        {
                            "name": "t",
                            "in": "query",
                            "schema": {"type": "number"},
                            "description": "a video's second",
                        },
                    ],
                    "responses": {"200": {"description": "image/jpeg"}, **_errors(400, 404)},
                }
            },
            "/media/{item_id}": {
                "get": {
                    "summary": "The original file, with HTTP Range (players seek)",
                    "parameters": [
                        ITEM_ID,
                        {"name": "Range", "in": "header", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {"description": "the file"},
                        "206": {"description": "a range of it"},
                        **_errors(404, 416),
                    },
                }
            },
            "/stats": {
                "get": {
                    "summary": "What the store holds, and the server's own figures",
                    "responses": {
                        "200": {"description": "as `crossmodal stats --json`, plus server"}
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                },
                "SearchRequest": {
                    "type": "object",
                    "properties": {
                        "text": texts,
                        "not": texts,
                        "image": files,
                        "audio": files,
                        "video": files,
                        "not_image": files,
                        "not_audio": files,
                        "upload": {
                            "type": "object",
                            "properties": {
                                "data": {"type": "string", "contentEncoding": "base64"},
                                "name": {"type": "string"},
                            },
                            "required": ["data"],
                            "description": "a query picture, sound or video sent with the request",
                        },
                        "type": {
                            "type": "string",
                            "description": "image|text|audio|video|all",
                        },
                        "k": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10},
                        "offset": {
                            "type": "integer",
                            "minimum": 0,
                            "default": 0,
                            "description": "results to skip (paging)",
                        },
                        "min_score": {"type": "number"},
                        "min_relative": {"type": "number"},
                        "min_z": {"type": "number"},
                        "fusion": {"enum": ["auto", "rrf", "score", "attention", "early"]},
                        "hubness": {"enum": ["csls", "none"]},
                        "under": texts,
                        "glob": texts,
                        "after": {"type": "string"},
                        "before": {"type": "string"},
                        "min_size": {"type": "string"},
                        "max_size": {"type": "string"},
                        "min_duration": {"type": "number"},
                        "max_duration": {"type": "number"},
                        "lang": texts,
                        "id": {"description": "echoed in the answer"},
                    },
                },
                "Result": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "rank": {"type": "integer"},
                        "path": {"type": "string"},
                        "modality": {"type": "string"},
                        "score": {"type": "number"},
                        "fused": {"type": "number"},
                        "spaces": {"type": "array", "items": {"type": "string"}},
                        "space_scores": {"type": "object"},
                        "meta": {"type": "object"},
                        "passage": {"type": "object"},
                        "because": {
                            "type": "string",
                            "description": "recommendations: the liked path, or prefer: TEXT, it came from",
                        },
                        "start": {"type": "number"},
                        "end": {"type": "number"},
                    },
                },
                "SearchAnswer": {
                    "type": "object",
                    "properties": {
                        "query": {"type": "object"},
                        "offset": {"type": "integer"},
                        "more": {"type": "boolean", "description": "more results lie past these"},
                        "results": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Result"},
                        },
                        "notes": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "RecommendRequest": {
                    "type": "object",
                    "properties": {
                        "like": files,
                        "dislike": files,
                        "history": files,
                        "prefer": texts,
                        "avoid": texts,
                        "type": {"type": "string"},
                        "k": {"type": "integer", "minimum": 1, "maximum": 10000},
                        "diversity": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                },
                "RecommendAnswer": {
                    "type": "object",
                    "properties": {
                        "profile": {"type": "object"},
                        "results": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Result"},
                        },
                    },
                },
                "Item": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "path": {"type": "string"},
                        "modality": {"type": "string"},
                        "size": {"type": "integer"},
                        "mtime": {"type": "number"},
                        "meta": {"type": "object"},
                    },
                },
            }
        },
    }
