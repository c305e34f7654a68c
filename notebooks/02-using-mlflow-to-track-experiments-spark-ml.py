# Databricks notebook source
# MAGIC %md
# MAGIC # Using MLflow to Track Experiments (Spark ML)
# MAGIC
# MAGIC ## Running an Experiment
# MAGIC In this exercise, you will use the NYC taxi dataset to train a model that predicts the total fare of a
# MAGIC taxi ride from a subset of the NYC Taxi & Limousine Commission green taxi trip records. You will train
# MAGIC variants of one linear regression model, changing its **hyperparameters** to try to achieve better
# MAGIC performance.
# MAGIC
# MAGIC This is the **Spark ML** version of the lab: a Spark DataFrame, a Spark ML `Pipeline` and `LinearRegression`.
# MAGIC The notebook `01-using-mlflow-to-track-experiments` teaches the same MLflow lesson with scikit-learn.
# MAGIC
# MAGIC You will use MLflow to log the parameters, metrics, model and a plot of each attempt. With MLflow you
# MAGIC create an **experiment**: a collection of **runs**, each run one attempt at training. Here every run
# MAGIC tries different hyperparameters for the same algorithm and data, so you can compare which fares best.
# MAGIC
# MAGIC ### Choose your compute
# MAGIC Attach this notebook to **serverless** compute (Databricks Free Edition has only serverless) with
# MAGIC serverless environment version 5 (the standard base environment; it comes with MLflow 3.8.1). Add two
# MAGIC dependencies, `scikit-learn` and `matplotlib`, without versions (if the environment has them already, pip
# MAGIC keeps what it has). Set this in each notebook's **Environment** side panel. Or attach it to a cluster
# MAGIC running a **Databricks Runtime for Machine Learning**, which comes with Spark, MLflow and matplotlib: an LTS
# MAGIC ML runtime 15.4 or 16.4 (Spark 3.5) in dedicated access mode, or 17.3 or 18 (Spark 4) in either access
# MAGIC mode (Spark ML runs in standard access mode from Databricks Runtime 17.0). The next cell runs the lab's
# MAGIC Spark setup notebook, which defines `load_spark_trips()` and a few helpers.

# COMMAND ----------

# DBTITLE 1,Run the lab's setup notebooks
# MAGIC %run ./includes/spark_setup

# COMMAND ----------

# DBTITLE 1,Import libraries
import math
import os
import tempfile

import matplotlib.pyplot as plt
import mlflow
import mlflow.spark
import numpy as np
from mlflow.models import infer_signature
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
# MAGIC Leave the three parameters blank to use the defaults: `data_path`, a CSV file of trips (blank: the
# MAGIC `nyc_taxi` table, or else the lab's data); `experiment_name`, the MLflow experiment of this notebook's
# MAGIC runs; and `volume`, the Unity Catalog volume (`catalog.schema.volume`) through which `mlflow.spark`
# MAGIC passes a model's files on serverless compute and standard access mode (blank: your own volume,
# MAGIC `dp090_mlflow_lab_<your short name>`, in your current catalog and schema, created if needed).
# MAGIC
# MAGIC Databricks ML runtimes turn on MLflow **autologging**, which logs every Spark ML model fit on its own.
# MAGIC This lab logs each run by hand, to show every call, so the cell turns autologging off for this notebook.

# COMMAND ----------

# DBTITLE 1,Parameters: data and experiment
dbutils.widgets.text("data_path", "", "Trips CSV (blank: nyc_taxi table)")
dbutils.widgets.text("experiment_name", "", "MLflow experiment (blank: default)")
dbutils.widgets.text("volume", "", "Volume for model files (blank: default)")

data_path = dbutils.widgets.get("data_path")
# The scikit-learn notebook's default experiment name, with "-spark-ml" added.
experiment_name = dbutils.widgets.get("experiment_name") or default_experiment_name() + "-spark-ml"

# Where mlflow.spark stages a model's files: a folder of the volume on serverless and standard access mode, else None.
model_dfs_tmpdir = spark_model_volume(dbutils.widgets.get("volume"))
if model_dfs_tmpdir:
    print(f"Model files pass through {model_dfs_tmpdir}")

# Every run this notebook starts goes to this experiment; it is created if it does not exist yet.
experiment = mlflow.set_experiment(experiment_name)
print(f"MLflow experiment: {experiment.name} (id {experiment.experiment_id})")

# Log by hand only: no automatic runs for the Spark ML fits of this notebook.
mlflow.autolog(disable=True)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Load the training data
# MAGIC Each row is one taxi ride: number of passengers, trip distance, hour, day and month, holiday and weather
# MAGIC information, and the total amount paid for the trip, which the model will predict. Run the following
# MAGIC cell to load the data into a Spark DataFrame and review it (**SYNTHETIC** trips give other numbers).

# COMMAND ----------

# DBTITLE 1,Load the data
trips, trips_source = load_spark_trips(data_path)
print(f"Loaded {trips.count():,} trips from {trips_source}")
display(trips)

# COMMAND ----------

# MAGIC %md
# MAGIC ### Featurize the data
# MAGIC The following cell prepares the data as the course's earlier lab did: `hour_of_day` becomes its sine and
# MAGIC cosine; an `Imputer`, a `MinMaxScaler`, a `StringIndexer` and a `OneHotEncoder` impute, scale and encode
# MAGIC the columns, and a `VectorAssembler` puts them into one vector column, `features`. The data is split
# MAGIC 70/30 with `randomSplit` and a fixed seed; the featurization `Pipeline` is **fitted on the training data
# MAGIC only**; both DataFrames are cached where the compute allows it (`cache_if_supported`).

# COMMAND ----------

# DBTITLE 1,Featurize and split
hour_angle = F.col("hour_of_day") * (2.0 * math.pi / 24)
trips_clean = (
    trips.withColumn("hour_sine", F.sin(hour_angle))
    .withColumn("hour_cosine", F.cos(hour_angle))
    .drop("hour_of_day")
    .filter(F.col("totalAmount").isNotNull())
    # isPaidTimeOff (true or false) as an integer, and all three whole-number columns as 64-bit integers:
    # Spark's long is pandas' int64, so the logged model also takes a pandas DataFrame (MLflow's pyfunc flavor).
    .withColumns({column: F.col(column).cast("long") for column in ["isPaidTimeOff", "day_of_week", "month_num"]})
    # A trip on no holiday has the holiday name "None" in the course's table; fill it in where it is missing.
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

feature_count = featurizer_model.transform(train_df.limit(1)).first()["features"].size
print(f"Created datasets: {train_df.count():,} training rows, {test_df.count():,} test rows")
print(f"Each trip becomes one features vector of {feature_count} numbers")

# COMMAND ----------

# MAGIC %md
# MAGIC ### Plot regression quality
# MAGIC This function plots each test trip as a red dot at its actual fare (x) and predicted fare (y), on
# MAGIC logarithmic axes; a perfect model would put every dot on the blue diagonal. It saves the plot as a PNG
# MAGIC file, which the training function logs to MLflow.

# COMMAND ----------

# DBTITLE 1,Plot function
def plot_regression_quality(predictions, label_column, png_path, max_points=10_000):
    count = predictions.count()
    if count > max_points:
        predictions = predictions.sample(fraction=max_points / count, seed=97)
    # collect(), not toPandas(): two columns of numbers need no pandas (and Spark 4.0's toPandas() warns with pandas 3)
    rows = predictions.select(label_column, "prediction").collect()
    actual = np.array([row[label_column] for row in rows])
    predicted = np.array([row["prediction"] for row in rows])

    figure, axes = plt.subplots(figsize=(8, 8))
    axes.scatter(actual, predicted, c="crimson", s=6, alpha=0.5)
    axes.set_xscale("log")
    axes.set_yscale("log")

    # Log axes show positive values only; the diagonal spans the positive range of both.
    values = np.concatenate([actual, predicted])
    low, high = values[values > 0].min(), values.max()
    axes.plot([low, high], [low, high], "b-")
    axes.set_xlabel("True values", fontsize=15)
    axes.set_ylabel("Predictions", fontsize=15)

    figure.savefig(png_path)
    plt.close(figure)
    return figure

# COMMAND ----------

# MAGIC %md
# MAGIC ### Create an MLflow run
# MAGIC The next function trains a linear regression model on `train_df` and evaluates it on `test_df`, with
# MAGIC three hyperparameters of Spark ML's `LinearRegression`:
# MAGIC - `elastic_net_param` (`elasticNetParam`), the ElasticNet mixing parameter: 0 is a pure L2 penalty
# MAGIC   (ridge), 1 a pure L1 penalty (lasso);
# MAGIC - `reg_param` (`regParam`), the strength of that penalty (regularization); 0 means no penalty;
# MAGIC - `max_iter` (`maxIter`), the maximum number of iterations the solver may take.
# MAGIC
# MAGIC Inside one MLflow run the function records:
# MAGIC * the parameters, with `mlflow.log_params`;
# MAGIC * the metrics RMSE, MAE and R², computed by a `RegressionEvaluator`, with `mlflow.log_metrics`;
# MAGIC * the model, with `mlflow.spark.log_model`: the fitted featurization and the regression together, as
# MAGIC   one `PipelineModel` that takes the trips' columns as they are; `dfs_tmpdir` is where Spark writes its
# MAGIC   files first (the *Parameters* cell's volume folder where one is needed, else `None`);
# MAGIC * an arbitrary file, the plot of predicted versus actual amounts, with `mlflow.log_artifact`.
# MAGIC
# MAGIC **Tip:** Use `with mlflow.start_run():` to create a new MLflow run. This is the recommended way to use
# MAGIC MLflow in notebook cells: whether your code completes or fails, the `with` block closes the run, so you
# MAGIC don't have to call `mlflow.end_run()`.

# COMMAND ----------

# DBTITLE 1,Training function
# pyspark, mlflow, pandas and numpy at this compute's versions: the packages the model needs (see the setup notebook).
model_requirements = spark_model_requirements()


def eval_metrics(predictions, label_column):
    evaluator = RegressionEvaluator(labelCol=label_column, predictionCol="prediction")
    rmse = evaluator.setMetricName("rmse").evaluate(predictions)
    mae = evaluator.setMetricName("mae").evaluate(predictions)
    r2 = evaluator.setMetricName("r2").evaluate(predictions)
    return rmse, mae, r2


def train_nyc_taxi(train_df, test_df, label_column, elastic_net_param, reg_param, max_iter):
    check_hyperparameters(elastic_net_param, reg_param, max_iter)  # before a run is started for them
    lr = LinearRegression(featuresCol="features", labelCol=label_column,
                          elasticNetParam=elastic_net_param, regParam=reg_param, maxIter=max_iter)

    # Start an MLflow run; the "with" keyword ensures we'll close the run even if this cell crashes
    with mlflow.start_run() as run:
        lr_model = lr.fit(featurizer_model.transform(train_df))
        # The fitted featurization and the regression as one model, from the trips' columns to a prediction
        model = PipelineModel(stages=[featurizer_model, lr_model])
        # Keep the two columns the evaluation needs, cached: the metrics and the plot read them several times
        predictions = cache_if_supported(model.transform(test_df).select(label_column, "prediction"))
        (rmse, mae, r2) = eval_metrics(predictions, label_column)

        # Print out model metrics
        print(f"Linear regression model (elastic_net_param={elastic_net_param}, reg_param={reg_param}, "
              f"max_iter={max_iter}):")
        iterations = lr_model.summary.totalIterations
        if iterations == 0:
            print("  solved in closed form (normal equations); max_iter does not apply")
        elif iterations >= max_iter:
            print(f"  the solver took {iterations} of at most {max_iter} iterations: stopped by max_iter")
        else:
            print(f"  the solver took {iterations} of at most {max_iter} iterations")
        print(f"  RMSE: {rmse:.4f}")
        print(f"  MAE:  {mae:.4f}")
        print(f"  R2:   {r2:.4f}")

        # Log hyperparameters and evaluation metrics for the MLflow UI
        mlflow.log_params({"elastic_net_param": elastic_net_param, "reg_param": reg_param, "max_iter": max_iter})
        mlflow.log_metrics({"rmse": rmse, "mae": mae, "r2": r2})

        # Log the model itself, with the input columns and output it expects (its signature)
        signature = infer_signature(test_df.select(feature_columns), predictions.select("prediction"))
        mlflow.spark.log_model(model, "model", signature=signature, pip_requirements=model_requirements,
                               dfs_tmpdir=model_dfs_tmpdir)

        # Generate a plot and log it (an artifact: any file you want to keep with the run)
        png_path = os.path.join(tempfile.mkdtemp(), "LinearRegressionPrediction.png")
        figure = plot_regression_quality(predictions, label_column, png_path)
        mlflow.log_artifact(png_path)

    return {"run_id": run.info.run_id, "rmse": rmse, "mae": mae, "r2": r2, "iterations": iterations,
            "predictions": predictions, "figure": figure}

# COMMAND ----------

# MAGIC %md
# MAGIC ## Experiment with different parameters
# MAGIC Call `train_nyc_taxi` with different parameters. Later, you'll review each of these runs in the MLflow
# MAGIC experiment. The first run uses no penalty at all (`reg_param = 0`) and one iteration (`max_iter = 1`).

# COMMAND ----------

# DBTITLE 1,Run 1: least squares
# L2 penalty, regularization parameter 0.0, 1 iteration
run_1 = train_nyc_taxi(train_df, test_df, label_column, 0.0, 0.0, 1)

# COMMAND ----------

# MAGIC %md
# MAGIC R² is the share of the variance of the total amount in the test data that the model explains (1 would
# MAGIC be perfect). RMSE and MAE estimate how far off the predictions are, in dollars; RMSE penalizes distant
# MAGIC values more than MAE does. The next cell puts this run's numbers into words and shows its plot: the
# MAGIC closer the red dots lie to the blue line, the better the model.
# MAGIC
# MAGIC Without an L1 penalty Spark first tries the **closed form**, where `max_iter` plays no part. On the lab's
# MAGIC data that fails (some features can be computed from others), and `max_iter = 1` stops the **iterative
# MAGIC solver** Spark falls back to after one iteration: this first model is not the best least-squares fit.
# MAGIC The cell says what happened in your run.

# COMMAND ----------

print(f"The model explains {run_1['r2']:.0%} of the variance of totalAmount in the test data.")
print(f"Its predictions are off by ${run_1['mae']:.2f} on average (MAE); RMSE is ${run_1['rmse']:.2f}.")
if run_1["iterations"] == 0:
    print("Spark solved least squares in closed form: max_iter = 1 did not limit it.")
else:
    print(f"Spark fell back to the iterative solver, which stopped after {run_1['iterations']} iteration(s).")
display(run_1["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC Trying the model with a different set of hyperparameters is as easy as changing the inputs to the
# MAGIC function. This run uses a pure L1 penalty (`elastic_net_param = 1.0`) of strength 0.3 and allows the
# MAGIC solver 50 iterations; if it has not converged by then, the function says it was stopped by `max_iter`.

# COMMAND ----------

# DBTITLE 1,Run 2: L1 penalty
# L1 penalty, regularization parameter 0.3, 50 iterations
run_2 = train_nyc_taxi(train_df, test_df, label_column, 1.0, 0.3, 50)

# COMMAND ----------

# MAGIC %md
# MAGIC How does it compare with the first run? Lower RMSE and MAE, and higher R², are better. The next cell
# MAGIC also counts, for the cheapest quarter of the test rides (the bottom-left corner of the plots), how often
# MAGIC each model predicted more than the actual fare: a model that mostly does skews high on cheap rides.

# COMMAND ----------

# DBTITLE 1,Compare runs 1 and 2
compare_runs(run_2, run_1, "run 2", "run 1")
for name, result in [("run 1", run_1), ("run 2", run_2)]:
    share = spark_share_predicted_high_on_cheap_rides(result["predictions"], label_column)
    print(f"{name}: predicted more than the actual fare for {share:.0%} of the cheapest quarter of rides")
display(run_2["figure"])

# COMMAND ----------

# DBTITLE 1,Run 3: mixed L1 and L2
# 50/50 mixed L1 and L2, regularization parameter 0.9, 1000 iterations
run_3 = train_nyc_taxi(train_df, test_df, label_column, 0.5, 0.9, 1000)

# COMMAND ----------

# DBTITLE 1,Compare run 3
compare_runs(run_3, run_1, "run 3", "run 1")
compare_runs(run_3, run_2, "run 3", "run 2")
share = spark_share_predicted_high_on_cheap_rides(run_3["predictions"], label_column)
print(f"run 3: predicted more than the actual fare for {share:.0%} of the cheapest quarter of rides")
display(run_3["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC ## Reviewing experiment metrics
# MAGIC
# MAGIC This information is now stored in the MLflow tracking server. Review it in the user interface:
# MAGIC
# MAGIC 1. Select the **Experiment** icon (a flask) in the notebook's right-hand side panel. The panel lists the
# MAGIC    runs of this notebook's experiment, with their parameters and metrics. Compare the three runs: which
# MAGIC    has the lowest RMSE?
# MAGIC 1. Select a run's name to open its **run details page**: its parameters, metrics, tags and **artifacts**:
# MAGIC    the plot `LinearRegressionPrediction.png` and the `model` folder, a model of the `spark` flavor.
# MAGIC 1. In the experiment page, select the three runs and choose **Compare** to see their parameters and
# MAGIC    metrics side by side.
# MAGIC
# MAGIC Running the lab outside Databricks? The lab guide, `docs/lab-guide.md`, shows the same views in MLflow's UI.
# MAGIC
# MAGIC ### View the experiment, runs, and run details programmatically
# MAGIC
# MAGIC You can also get experiment details from code, with an `MlflowClient`. Start by listing the experiments
# MAGIC you can see, ordered by their `last_update_time`, latest first. Despite its name, that time does not
# MAGIC change when runs are logged: it changes only when the experiment is renamed, deleted or restored.

# COMMAND ----------

# DBTITLE 1,List experiments
from mlflow.tracking import MlflowClient

client = MlflowClient()
experiments = client.search_experiments(order_by=["last_update_time DESC"], max_results=10)
for listed in experiments:
    print(f"{listed.experiment_id:>20}  {listed.name}")

# COMMAND ----------

# MAGIC %md
# MAGIC Pick this lab's experiment by its name, with a filter, rather than by its position in the list. Then
# MAGIC `mlflow.search_runs` returns its runs as a pandas DataFrame, one row a run, with the logged metrics
# MAGIC (`metrics.*`), parameters (`params.*`) and tags (`tags.*`).

# COMMAND ----------

# DBTITLE 1,Runs of this lab's experiment
[lab_experiment] = client.search_experiments(filter_string=f"name = {quoted(experiment.name)}")
experiment_id = lab_experiment.experiment_id
runs_df = mlflow.search_runs([experiment_id])

display(runs_df)

# COMMAND ----------

# MAGIC %md
# MAGIC Next, retrieve the last run in this experiment, ordered by start time. `data.metrics` holds its metrics,
# MAGIC one key-value pair each. The latest run is not necessarily the best one: the cell after it orders the
# MAGIC runs by a metric, the lowest RMSE first, to find the best.

# COMMAND ----------

# DBTITLE 1,Latest run's metrics
runs = client.search_runs([experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
last_run = runs[0]
last_run.data.metrics

# COMMAND ----------

# DBTITLE 1,Best run by RMSE
best_run = client.search_runs([experiment_id], order_by=["metrics.rmse ASC"], max_results=1)[0]
best_params = ", ".join(f"{name}={value}" for name, value in sorted(best_run.data.params.items()))
print(f"Lowest RMSE: {best_run.data.metrics['rmse']:.4f}, run {best_run.info.run_id} ({best_params})")
print(f"The latest run, {last_run.info.run_id}, has RMSE {last_run.data.metrics['rmse']:.4f}")

# COMMAND ----------

# MAGIC %md
# MAGIC You can also load the model a run logged and use it: `runs:/<run_id>/model` names the model that the run
# MAGIC logged as `model`. `mlflow.spark.load_model` (with `dfs_tmpdir`, as `log_model`) gives back the Spark
# MAGIC `PipelineModel`, featurization included. Predict the fares of three test trips with the latest run's model:

# COMMAND ----------

# DBTITLE 1,Load the model and predict
loaded_model = mlflow.spark.load_model(f"runs:/{last_run.info.run_id}/model", dfs_tmpdir=model_dfs_tmpdir)
top_rows = test_df.limit(3)
display(loaded_model.transform(top_rows).select(*feature_columns, label_column, "prediction"))

# COMMAND ----------

# MAGIC %md
# MAGIC ## Clean-up
# MAGIC
# MAGIC The runs stay in the experiment for the next exercises. When you are done with the course, delete the
# MAGIC experiment from the **Experiments** page, and terminate your cluster on the **Compute** page if you
# MAGIC started one for this lab (serverless compute stops by itself). On serverless compute and standard access
# MAGIC mode, the *Parameters* cell also created the volume it printed: drop it in **Catalog** when you no longer
# MAGIC need it.

# COMMAND ----------

# MAGIC %md
# MAGIC ## Going further
# MAGIC
# MAGIC ### The split's effect on R², and the scikit-learn notebook's numbers
# MAGIC
# MAGIC If you ran the scikit-learn notebook with its default experiment, the next cell sets its latest
# MAGIC least-squares run beside run 1. Expect them to differ, for two reasons:
# MAGIC - **Different test trips.** `randomSplit` decides for each row on its own whether it goes to the test
# MAGIC   set, so the test set holds about 30% of the trips, while scikit-learn's `train_test_split` takes
# MAGIC   exactly 30%. With the same seed, 97, the two libraries draw different trips; the split also depends
# MAGIC   on how Spark partitions the data.
# MAGIC - **A different solver.** scikit-learn's `LinearRegression` always computes the least-squares fit;
# MAGIC   Spark's run 1 stopped after `max_iter` iterations when the closed form failed.
# MAGIC
# MAGIC The cell after it fits least squares again, allowing 100 iterations, on this notebook's split and on two
# MAGIC splits drawn with other seeds, without logging them.

# COMMAND ----------

# DBTITLE 1,The scikit-learn notebook's least-squares run
sklearn_experiment = mlflow.get_experiment_by_name(default_experiment_name())
sklearn_runs = []
if sklearn_experiment is not None:
    sklearn_runs = mlflow.MlflowClient().search_runs(
        [sklearn_experiment.experiment_id], filter_string="params.reg_param = '0.0'",
        order_by=["attributes.start_time DESC"], max_results=1,
    )
if sklearn_runs:
    sklearn_metrics = sklearn_runs[0].data.metrics
    print(f"Least squares, scikit-learn notebook: R2 {sklearn_metrics['r2']:.4f}, RMSE {sklearn_metrics['rmse']:.4f}")
else:
    print(f"No least-squares run in {default_experiment_name()}: run the scikit-learn notebook to compare")
print(f"Least squares, this notebook (run 1): R2 {run_1['r2']:.4f}, RMSE {run_1['rmse']:.4f}")

# COMMAND ----------

# DBTITLE 1,Least squares to convergence, on three splits
r2_evaluator = RegressionEvaluator(labelCol=label_column, predictionCol="prediction", metricName="r2")
for seed in [97, 1, 2]:
    seed_train, seed_test = trips_clean.randomSplit([0.7, 0.3], seed=seed)
    seed_featurizer = featurizer.fit(seed_train)
    least_squares = LinearRegression(featuresCol="features", labelCol=label_column, maxIter=100)
    least_squares_model = least_squares.fit(seed_featurizer.transform(seed_train))
    seed_r2 = r2_evaluator.evaluate(least_squares_model.transform(seed_featurizer.transform(seed_test)))
    print(f"seed {seed:>2}: {seed_test.count():,} test trips, R2 {seed_r2:.4f} "
          f"after {least_squares_model.summary.totalIterations} iterations")

# COMMAND ----------

# MAGIC %md
# MAGIC With the same model and the same data, R² moves with the test trips a split happens to draw: a few
# MAGIC trips with very high fares that the model gets badly wrong weigh heavily in a test set of a few
# MAGIC thousand trips. That is why the runs of one experiment share one split, as here, and why numbers from
# MAGIC two different splits, like those of the two notebooks, compare only roughly. The libraries themselves
# MAGIC agree: fitted on the same training trips, scikit-learn's `LinearRegression` and Spark's least squares
# MAGIC run to convergence make practically the same predictions (checked on this notebook's split with Spark
# MAGIC 4.0: the same RMSE, MAE and R² to four decimals).
# MAGIC
# MAGIC ### Why built-in functions beat a UDF
# MAGIC
# MAGIC The featurization computes the sine and cosine with Spark's **built-in column functions**, not with a
# MAGIC Python user-defined function (UDF), as the course's first version of this lab did. A Python UDF runs in
# MAGIC Python worker processes: Spark has to serialize the rows, send them from the JVM to Python and the
# MAGIC results back. Built-in functions run inside Spark's JVM, where the query optimizer sees them and
# MAGIC compiles them together with the rest of the query. Reach for a UDF only when no built-in function does
# MAGIC the job.

# COMMAND ----------

# MAGIC %md
# MAGIC The last two cells are for jobs: they return this session's three runs to a job that runs the notebook.

# COMMAND ----------

# MAGIC %run ./includes/job_summary

# COMMAND ----------

# DBTITLE 1,Return a summary to the job
# When a job runs this notebook (deploy.py run --runtime, the bundle's lab_matrix job), this summary is the
# task's output: the library versions of this runtime and the three runs above with their metrics.
dbutils.notebook.exit(lab_summary([run_1["run_id"], run_2["run_id"], run_3["run_id"]]))
