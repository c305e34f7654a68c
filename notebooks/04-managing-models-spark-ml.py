# Databricks notebook source
# MAGIC %md
# MAGIC # Managing Models with Spark ML
# MAGIC
# MAGIC This is the lab's Spark ML notebook, as the course's original lab: the model is a Spark ML `PipelineModel`,
# MAGIC logged with `mlflow.spark`. In the previous lab you trained and compared models in MLflow runs. In this lab you
# MAGIC manage a model after training, with the MLflow **model registry** and code (`MlflowClient`): you register a
# MAGIC run's model as a **registered model**, add **versions** to it, describe them, point the **aliases** `champion`
# MAGIC and `challenger` at versions, load a model by its alias to predict, and finally retire the model.
# MAGIC
# MAGIC On Databricks the registry is **Unity Catalog**: a model has a three-level name,
# MAGIC `catalog.schema.model`. Outside Databricks it is the MLflow tracking server's own registry.
# MAGIC
# MAGIC **If you know the course's original lab:** model *stages* are gone. Aliases replace them: `champion`
# MAGIC plays the part of `Production` and `challenger` that of `Staging`, and `models:/<name>@champion` replaces
# MAGIC `models:/<name>/Production`. A version gets an alias with `set_registered_model_alias`, not
# MAGIC `transition_model_version_stage`; no version is "archived", it simply has no alias. The workspace model
# MAGIC registry gave way to Unity Catalog (three-level names), and **Enable Serving** to Model Serving endpoints.
# MAGIC
# MAGIC ### Choose your compute
# MAGIC Attach this notebook to **serverless** compute (environment version 4 or later) or to a cluster running
# MAGIC a Databricks Runtime for Machine Learning (15.4 LTS ML or later; in standard access mode, 17.0 or later),
# MAGIC as for the previous lab's Spark ML notebook. The next cells run the lab's setup notebooks.

# COMMAND ----------

# DBTITLE 1,Run the lab's Spark setup notebook
# MAGIC %run ./includes/spark_setup

# COMMAND ----------

# DBTITLE 1,Run the registry's setup notebook
# MAGIC %run ./includes/registry_setup

# COMMAND ----------

# DBTITLE 1,Import libraries
import math
import time

import mlflow
import mlflow.spark
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.feature import Imputer, MinMaxScaler, OneHotEncoder, StringIndexer, VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.sql import functions as F  # noqa: N812 (PySpark's usual name)

print(f"Loaded libraries: MLflow {mlflow.__version__}, Spark {spark.version}")
print(f"Compute: {compute_description()}")

# COMMAND ----------

# MAGIC %md
# MAGIC ### Parameters
# MAGIC Leave the parameters blank to use the defaults: `data_path` and `experiment_name` as in the previous lab
# MAGIC (the runs go to the experiment `dp090-managing-models-spark-ml`); `model_name`, the registered model
# MAGIC (blank: `dp090_nyc_taxi_<your short user name>_spark_ml` in the catalog and schema below, or
# MAGIC `dp090-nyc-taxi-spark-ml` outside Databricks); `catalog` and `schema`, where a blank `model_name` goes
# MAGIC in Unity Catalog (blank: your session's current ones, `workspace.default` on Free Edition); `volume`, as
# MAGIC in the previous lab, the volume through which `mlflow.spark` passes a model's files on serverless
# MAGIC compute and standard access mode; and `keep_model`: `yes` keeps the model at the end, for serving it;
# MAGIC anything else deletes it in the **Clean-up** step. The cell also turns MLflow autologging off.
# MAGIC
# MAGIC On Databricks, MLflow 3 uses Unity Catalog as its registry by default and MLflow 2 (ML runtimes 15.4 and
# MAGIC 16.4) does not, so the cell names the registry: `databricks-uc` in a workspace.

# COMMAND ----------

# DBTITLE 1,Parameters: data, experiment and model
dbutils.widgets.text("data_path", "", "Trips CSV (blank: the lab's data)")
dbutils.widgets.text("experiment_name", "", "MLflow experiment (blank: default)")
dbutils.widgets.text("model_name", "", "Registered model (blank: default)")
dbutils.widgets.text("catalog", "", "Catalog (blank: current)")
dbutils.widgets.text("schema", "", "Schema (blank: current)")
dbutils.widgets.text("volume", "", "Volume for model files (blank: default)")
dbutils.widgets.text("keep_model", "no", "Keep the model at the end (yes/no)")

data_path = dbutils.widgets.get("data_path")
experiment_name = dbutils.widgets.get("experiment_name") or default_registry_experiment_name() + "-spark-ml"
keep_model = dbutils.widgets.get("keep_model").strip().lower() == "yes"

# Unity Catalog ("databricks-uc") in a workspace, else the tracking server's own registry (see registry_setup)
mlflow.set_registry_uri(lab_registry_uri())
model_name = dbutils.widgets.get("model_name") or default_model_name(
    dbutils.widgets.get("catalog"), dbutils.widgets.get("schema"), spark_ml=True)
# Where mlflow.spark stages a model's files: a folder of the volume on serverless and standard access mode, else None.
model_dfs_tmpdir = spark_model_volume(dbutils.widgets.get("volume"))

experiment = mlflow.set_experiment(experiment_name)
client = MlflowClient()
print(f"MLflow experiment: {experiment.name} (id {experiment.experiment_id})")
print(f"Model registry: {registry_description()}")
print(f"Registered model: {model_name}")
if model_dfs_tmpdir:
    print(f"Model files pass through {model_dfs_tmpdir}")
mlflow.autolog(disable=True)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Prepare the data and the training function
# MAGIC The next cell loads the trips and featurizes them exactly as the previous lab's Spark ML notebook did
# MAGIC (`randomSplit` 70/30 with the same seed, the featurization fitted on the training data). The cell after it
# MAGIC defines `train_nyc_taxi`, the previous lab's training function without the plot: it logs the hyperparameters,
# MAGIC the metrics and the model with its **signature** (the input columns and output it expects). Unity Catalog
# MAGIC registers only models that have a signature.

# COMMAND ----------

# DBTITLE 1,Load, featurize and split the data
trips, trips_source = load_spark_trips(data_path)
print(f"Loaded {trips.count():,} trips from {trips_source}")

hour_angle = F.col("hour_of_day") * (2.0 * math.pi / 24)
trips_clean = (
    trips.withColumn("hour_sine", F.sin(hour_angle))
    .withColumn("hour_cosine", F.cos(hour_angle))
    .drop("hour_of_day")
    .filter(F.col("totalAmount").isNotNull())
    .withColumns({column: F.col(column).cast("long") for column in ["isPaidTimeOff", "day_of_week", "month_num"]})
    .fillna({"normalizeHolidayName": "None"})
)

numerical_cols = ["passengerCount", "tripDistance", "snowDepth", "precipTime", "precipDepth", "temperature",
                  "hour_sine", "hour_cosine"]
categorical_cols = ["day_of_week", "month_num", "normalizeHolidayName", "isPaidTimeOff"]
label_column = "totalAmount"
feature_columns = numerical_cols + categorical_cols

index_cols = [f"{column}_index" for column in categorical_cols]
vector_cols = [f"{column}_vector" for column in categorical_cols]
featurizer = Pipeline(stages=[
    Imputer(strategy="median", inputCols=["passengerCount"], outputCols=["passengerCount"]),
    VectorAssembler(inputCols=numerical_cols, outputCol="numerical_features"),
    MinMaxScaler(inputCol="numerical_features", outputCol="scaled_numerical_features"),
    StringIndexer(inputCols=categorical_cols, outputCols=index_cols, handleInvalid="keep"),
    OneHotEncoder(inputCols=index_cols, outputCols=vector_cols),
    VectorAssembler(inputCols=vector_cols + ["scaled_numerical_features"], outputCol="features"),
])

train_df, test_df = trips_clean.randomSplit([0.7, 0.3], seed=97)
train_df, test_df = cache_if_supported(train_df), cache_if_supported(test_df)
featurizer_model = featurizer.fit(train_df)
print(f"Created datasets: {train_df.count():,} training rows, {test_df.count():,} test rows")

# COMMAND ----------

# DBTITLE 1,Training function
# pyspark, mlflow, pandas and numpy at this compute's versions: the packages the model needs (see spark_setup).
model_requirements = spark_model_requirements()


def train_nyc_taxi(train_df, test_df, label_column, elastic_net_param, reg_param, max_iter, model_name=None):
    check_hyperparameters(elastic_net_param, reg_param, max_iter)
    lr = LinearRegression(featuresCol="features", labelCol=label_column,
                          elasticNetParam=elastic_net_param, regParam=reg_param, maxIter=max_iter)

    with mlflow.start_run() as run:
        lr_model = lr.fit(featurizer_model.transform(train_df))
        # The fitted featurization and the regression as one model, from the trips' columns to a prediction
        model = PipelineModel(stages=[featurizer_model, lr_model])
        predictions = model.transform(test_df).select(label_column, "prediction")
        evaluator = RegressionEvaluator(labelCol=label_column, predictionCol="prediction")
        rmse = evaluator.setMetricName("rmse").evaluate(predictions)
        mae = evaluator.setMetricName("mae").evaluate(predictions)
        r2 = evaluator.setMetricName("r2").evaluate(predictions)
        print(f"Linear regression model (elastic_net_param={elastic_net_param}, reg_param={reg_param}, "
              f"max_iter={max_iter}): RMSE {rmse:.4f}, MAE {mae:.4f}, R2 {r2:.4f}")

        mlflow.log_params({"elastic_net_param": elastic_net_param, "reg_param": reg_param, "max_iter": max_iter})
        mlflow.log_metrics({"rmse": rmse, "mae": mae, "r2": r2})

        # Log the model with its signature; with a model_name, also register it as a new version of that model
        signature = infer_signature(test_df.select(feature_columns), predictions.select("prediction"))
        mlflow.spark.log_model(model, "model", signature=signature, pip_requirements=model_requirements,
                               dfs_tmpdir=model_dfs_tmpdir, registered_model_name=model_name)

    return run.info.run_id

# COMMAND ----------

# MAGIC %md
# MAGIC ## Train a model
# MAGIC Train a model with the previous lab's best hyperparameters on the lab's data (its Spark ML notebook's
# MAGIC run 2, as in the course's original lab): an L1 penalty of strength 0.3, at most 50 iterations.

# COMMAND ----------

# DBTITLE 1,Train with the previous lab's best hyperparameters
first_run_id = train_nyc_taxi(train_df, test_df, label_column, 1.0, 0.3, 50)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Register the model
# MAGIC Find the experiment's latest run, the one you just trained: `runs:/<run_id>/model` names the model it
# MAGIC logged.

# COMMAND ----------

# DBTITLE 1,The latest run's model
latest_run = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)[0]
run_id = latest_run.info.run_id
model_uri = f"runs:/{run_id}/model"
print(f"Latest run: {latest_run.info.run_name} (run id {run_id}); its model: {model_uri}")

# COMMAND ----------

# MAGIC %md
# MAGIC `mlflow.register_model` creates the registered model if it does not exist yet and adds the run's model to
# MAGIC it as a new **version** (1, 2, 3, ...). Registration can finish after the call returns (Unity Catalog
# MAGIC copies the model's files), so `wait_until_ready` asks for the version's status until it is `READY`.
# MAGIC If the model is still there from an earlier session (`keep_model` = `yes`), you get its next version. (With
# MAGIC MLflow 3 the run's model is a *logged model*, `models:/m-...`, linked to the run: MLflow says it registers
# MAGIC that.)

# COMMAND ----------

# DBTITLE 1,Register the model and wait until it is ready
def wait_until_ready(model_name, version):
    for _ in range(60):
        status = client.get_model_version(name=model_name, version=version).status
        print(f"Model {model_name} version {version}: {status}")
        if status == "READY":
            return
        if status == "FAILED_REGISTRATION":
            raise RuntimeError(f"Model {model_name} version {version} failed to register")
        time.sleep(2)
    raise TimeoutError(f"Model {model_name} version {version} was not ready after 2 minutes")


model_details = mlflow.register_model(model_uri=model_uri, name=model_name)
first_version = model_details.version
wait_until_ready(model_name, first_version)

# COMMAND ----------

# MAGIC %md
# MAGIC ### Describe the model and the version
# MAGIC A registered model has a description; so does each version, and a version can have **tags** (keys and
# MAGIC values you choose). Describe what the model predicts, and what this version is.

# COMMAND ----------

# DBTITLE 1,Descriptions and tags
client.update_registered_model(
    name=model_name,
    description="This model forecasts the amount a taxi cab ride might cost in New York City.",
)
client.update_model_version(
    name=model_name,
    version=first_version,
    description="Spark ML linear regression, L1 penalty 0.3, at most 50 iterations: the previous lab's best run.",
)
client.set_model_version_tag(model_name, first_version, "algorithm", "elastic net, L1 only")

version_details = client.get_model_version(model_name, first_version)
print(f"Model {model_name}: {client.get_registered_model(model_name).description}")
print(f"Version {first_version}: {version_details.description} Tags: {version_details.tags}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Name the version to use: the alias `champion`
# MAGIC Which version should an application use? Name it with an **alias**: `champion`, the version in use.
# MAGIC An alias names exactly one version of a model at a time. The cell prints which version each alias
# MAGIC names before and after: none for a new model; if you kept the model of an earlier session, its aliases,
# MAGIC and setting `champion` moves it from the version it named to this session's.

# COMMAND ----------

# DBTITLE 1,Set the alias champion
def print_aliases(model_name, when):
    aliases = client.get_registered_model(model_name).aliases  # {alias: version}
    named = ", ".join(f"@{alias} -> version {version}" for alias, version in sorted(aliases.items()))
    print(f"{when}: {named or 'no aliases'}")


print_aliases(model_name, "Before")
client.set_registered_model_alias(name=model_name, alias="champion", version=first_version)
print_aliases(model_name, "After")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Predict with the champion
# MAGIC `models:/<name>@<alias>` names the version an alias names when the model is loaded. The function below
# MAGIC loads a model by alias with `mlflow.spark.load_model` (with `dfs_tmpdir`, as `log_model`), which gives
# MAGIC back the Spark `PipelineModel`, and predicts. Predict the fare of one test trip with the champion.

# COMMAND ----------

# DBTITLE 1,Predict one trip with models:/<name>@champion
def forecast_nyc_taxi_amount(model_name, alias, df):
    model_uri = f"models:/{model_name}@{alias}"
    version = client.get_model_version_by_alias(model_name, alias).version
    print(f"Loading {model_uri} (version {version})")
    model = mlflow.spark.load_model(model_uri, dfs_tmpdir=model_dfs_tmpdir)
    return model.transform(df).first()["prediction"]


# One test trip, kept as rows: the same trip for every prediction below
one_trip = spark.createDataFrame(test_df.limit(1).collect(), schema=test_df.schema)
champion_fare = forecast_nyc_taxi_amount(model_name, "champion", one_trip)
print(f"Champion's fare for the test trip: ${champion_fare:.2f} (actual: ${one_trip.first()[label_column]:.2f})")

# COMMAND ----------

# MAGIC %md
# MAGIC ## A new version: the challenger
# MAGIC Train again with other hyperparameters, as the course's original lab did: an L2 penalty
# MAGIC (`elastic_net_param = 0`) of strength 0.3, at most 500 iterations. This time `train_nyc_taxi` gets the
# MAGIC model's name, so `log_model` registers the model as the next version itself (`registered_model_name`).
# MAGIC The cell then finds the newest version and waits.

# COMMAND ----------

# DBTITLE 1,Train and register a new version
second_run_id = train_nyc_taxi(train_df, test_df, label_column, 0.0, 0.3, 500, model_name=model_name)

model_versions = client.search_model_versions(f"name = '{model_name}'")
second_version = str(max(int(model_version.version) for model_version in model_versions))
wait_until_ready(model_name, second_version)

# COMMAND ----------

# DBTITLE 1,Describe the new version
client.update_model_version(
    name=model_name,
    version=second_version,
    description="L2 penalty 0.3 (elastic_net_param 0) and at most 500 iterations, instead of L1 and 50.",
)
client.set_model_version_tag(model_name, second_version, "algorithm", "elastic net, L2 only")
print(f"Version {second_version}: {client.get_model_version(model_name, second_version).description}")

# COMMAND ----------

# MAGIC %md
# MAGIC Before the new version replaces the champion, give it the alias `challenger` (what `Staging` was) and
# MAGIC test it: predict the same trip with `@challenger`, and compare the two versions' metrics from their runs.

# COMMAND ----------

# DBTITLE 1,Set the alias challenger and predict with it
client.set_registered_model_alias(name=model_name, alias="challenger", version=second_version)
print_aliases(model_name, "Aliases")

challenger_fare = forecast_nyc_taxi_amount(model_name, "challenger", one_trip)
print(f"Challenger's fare for the test trip: ${challenger_fare:.2f} (champion: ${champion_fare:.2f})")
for alias in ["champion", "challenger"]:
    version = client.get_model_version_by_alias(model_name, alias)
    rmse = client.get_run(version.run_id).data.metrics["rmse"]
    print(f"@{alias}: version {version.version}, RMSE {rmse:.4f} on the test data")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Promote the challenger
# MAGIC The lower RMSE is the better model. Suppose you decide for the challenger anyway (this lab promotes it
# MAGIC whatever the numbers, to show how): set the alias `champion` on the new version. The alias moves: it
# MAGIC stops naming the old version, so no two versions are ever "the champion" (with stages, two versions could
# MAGIC both be in `Production`).

# COMMAND ----------

# DBTITLE 1,Move champion to the new version
print_aliases(model_name, "Before")
client.set_registered_model_alias(name=model_name, alias="champion", version=second_version)
print_aliases(model_name, "After")

# COMMAND ----------

# MAGIC %md
# MAGIC Which version does `models:/<name>@champion` load now? Predict the same trip again: the fare is the
# MAGIC challenger's, because the alias names the new version. Code that loads `@champion` switched versions
# MAGIC without a change.

# COMMAND ----------

# DBTITLE 1,Which one wins now
new_champion_fare = forecast_nyc_taxi_amount(model_name, "champion", one_trip)
winner = "the new version" if new_champion_fare == challenger_fare else "not the new version"
print(f"@champion predicts ${new_champion_fare:.2f}: {winner} (version {second_version}) "
      f"(old champion, version {first_version}: ${champion_fare:.2f})")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Retire the old version
# MAGIC The challenger has become the champion, so delete the alias `challenger`. The old version has no alias
# MAGIC now: nothing loads it by alias, and you can delete it (`delete_model_version`).

# COMMAND ----------

# DBTITLE 1,Delete the alias challenger and the old version
client.delete_registered_model_alias(name=model_name, alias="challenger")
client.delete_model_version(name=model_name, version=first_version)
print(f"Deleted version {first_version}")
print_aliases(model_name, "Aliases")
versions_left = sorted(int(left.version) for left in client.search_model_versions(f"name = '{model_name}'"))
print(f"Versions left: {versions_left}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Serve the model on Databricks
# MAGIC In a workspace you serve a registered model with a **Model Serving endpoint** (**Serving** in the
# MAGIC sidebar, **Create serving endpoint**): choose the model in Unity Catalog and its version, today the
# MAGIC version `@champion` names, and the endpoint answers HTTP requests with predictions. An endpoint stays
# MAGIC until you delete it (**Serving** page). Databricks Free Edition limits model serving like its other resources
# MAGIC (see its "Free Edition limitations" page). To serve the model, run this notebook with `keep_model` =
# MAGIC `yes`; outside Databricks, see **Going further** for `mlflow models serve`.

# COMMAND ----------

# MAGIC %md
# MAGIC ## Clean-up
# MAGIC To retire the whole model: delete its aliases, then its versions, then the registered model. The next
# MAGIC cell does so unless `keep_model` is `yes`. The runs stay in the experiment; delete it from the
# MAGIC **Experiments** page when you are done with the course.

# COMMAND ----------

# DBTITLE 1,Delete the registered model
if keep_model:
    print(f"Kept {model_name}: {client.get_registered_model(model_name).aliases}")
else:
    for alias in client.get_registered_model(model_name).aliases:
        client.delete_registered_model_alias(name=model_name, alias=alias)
    for model_version in client.search_model_versions(f"name = '{model_name}'"):
        client.delete_model_version(name=model_name, version=model_version.version)
    client.delete_registered_model(name=model_name)
    print(f"Deleted the registered model {model_name}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Going further
# MAGIC
# MAGIC Running the lab outside Databricks? The lab guide, `docs/lab-guide.md`, says how.
# MAGIC
# MAGIC ### Serve the champion on your own machine
# MAGIC Outside Databricks, MLflow serves a registered model itself. Run this notebook with `keep_model` = `yes`,
# MAGIC then, in a terminal where `MLFLOW_TRACKING_URI` names your tracking server:
# MAGIC
# MAGIC ```sh
# MAGIC mlflow models serve -m "models:/dp090-nyc-taxi-spark-ml@champion" --env-manager local -p 5001
# MAGIC ```
# MAGIC
# MAGIC `--env-manager local` serves with the Python packages you have, rather than building an environment;
# MAGIC a Spark ML model also needs Java and pyspark there, as this notebook does.
# MAGIC The server answers `POST /invocations` with predictions. The next cell prints the request for the test
# MAGIC trip, as `curl` sends it.

# COMMAND ----------

# DBTITLE 1,A request for the model server
import json

trip_json = one_trip.select(feature_columns).toPandas().to_json(orient="split", index=False)
request = {"dataframe_split": json.loads(trip_json)}
print(f"curl -s http://127.0.0.1:5001/invocations -H 'Content-Type: application/json' -d '{json.dumps(request)}'")

# COMMAND ----------

# MAGIC %md
# MAGIC The last two cells are for jobs: they return this session's two runs to a job that runs the notebook.

# COMMAND ----------

# MAGIC %run ./includes/job_summary

# COMMAND ----------

# DBTITLE 1,Return a summary to the job
# When a job runs this notebook, this summary is the task's output: the library versions and the two runs.
dbutils.notebook.exit(lab_summary([first_run_id, second_run_id]))
