// Renders /api/v1/openapi.json with the vendored Swagger UI (a file, not an inline script: the CSP allows no inline).
(function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    tryItOutEnabled: false,
  });
})();
